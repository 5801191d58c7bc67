package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/etcdv2/server/actors/system"
)

// exitOf waits (at most 20 s) for s to exit by itself and returns its exit
// code.
func exitOf(t *testing.T, s *server) int {
	t.Helper()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		t.Fatalf("the member did not exit within 20 s; logs:\n%s", s.logs.String())
		return 0
	}
}

// errorLines are the log lines at level error.
func errorLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"error"`) {
			out = append(out, l)
		}
	}
	return out
}

// refusal starts the binary with extra on a fresh data dir and checks that
// it exits with code, having logged exactly one error line, which holds
// want, and having created no data dir.
func refusal(t *testing.T, code int, want string, extra ...string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s := launch(t, dir, extra...)
	got := exitOf(t, s)
	logs := s.logs.String()
	lines := errorLines(logs)
	if got != code || len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Fatalf("exit %d (want %d), error lines %q, want one holding %q; logs:\n%s", got, code, lines, want, logs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the refused member made its data dir (%v)", err)
	}
}

// fakePeer answers GET /members on a loopback port as a running member's
// peer URL would, with the cluster id and the members that members(its own
// URL) renders; it returns its URL.
func fakePeer(t *testing.T, clusterID uint64, members func(self string) string) string {
	t.Helper()
	ln := listenFresh(t)
	self := "http://" + ln.Addr().String()
	body := members(self)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/members" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Etcd-Cluster-ID", strconv.FormatUint(clusterID, 16))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return self
}

// Every inconsistent set of bootstrap flags stops the member before it
// binds or writes anything, with one error line saying what is wrong (etcd's
// words) and exit code 1 (2 for a value the flags themselves refuse).
func TestInconsistentBootstrapFlagsAreRefused(t *testing.T) {
	other := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	// launch names the member e2e and gives it its own peer URL; the flags
	// of each case come after, and override it.
	t.Run("own name missing", func(t *testing.T) {
		refusal(t, 1, `couldn't find local name \"e2e\" in the initial cluster configuration`,
			"--initial-cluster", "a="+other)
	})
	t.Run("duplicate peer URL", func(t *testing.T) {
		pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		refusal(t, 1, "has duplicate url "+pu,
			"--initial-advertise-peer-urls", pu, "--initial-cluster", "e2e="+pu+",b="+pu)
	})
	t.Run("advertised peer URL not the listed one", func(t *testing.T) {
		pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		refusal(t, 1, "--initial-cluster has e2e="+other+" but missing from --initial-advertise-peer-urls="+pu,
			"--initial-advertise-peer-urls", pu, "--initial-cluster", "e2e="+other)
	})
	t.Run("own name twice", func(t *testing.T) {
		// A name given twice is one member with two peer URLs, as in etcd:
		// this member advertises only one of them.
		pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		refusal(t, 1, "--initial-cluster has e2e="+other+" but missing from --initial-advertise-peer-urls="+pu,
			"--initial-advertise-peer-urls", pu, "--initial-cluster", "e2e="+pu+",e2e="+other)
	})
	t.Run("bad URL", func(t *testing.T) {
		refusal(t, 1, `URL address does not have the form \"host:port\": http://127.0.0.1`,
			"--initial-cluster", "e2e=http://127.0.0.1")
	})
	t.Run("unknown cluster state", func(t *testing.T) {
		refusal(t, 2, `invalid value \"old\" for flag -initial-cluster-state: invalid value`, "--initial-cluster-state", "old")
	})
	t.Run("existing, nobody to ask", func(t *testing.T) {
		pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		refusal(t, 1, "cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs",
			"--initial-advertise-peer-urls", pu, "--initial-cluster", "e2e="+pu+",b="+other, "--initial-cluster-state", "existing")
	})
	t.Run("existing, alone", func(t *testing.T) {
		refusal(t, 1, "cannot fetch cluster info from peer urls", "--initial-cluster-state", "existing")
	})
	t.Run("existing, the cluster does not list this member", func(t *testing.T) {
		peer := fakePeer(t, 0x564d85ebd9c56a7, func(string) string {
			return `[{"id":16312191174824611196,"peerURLs":["http://127.0.0.1:1"],"name":"ref","clientURLs":["http://127.0.0.1:2"]}]`
		})
		pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		refusal(t, 1, "error validating peerURLs of cluster 564d85ebd9c56a7 (e2608b72a3aecd7c=http://127.0.0.1:1): member count is unequal",
			"--initial-advertise-peer-urls", pu, "--initial-cluster", "e2e="+pu+",b="+peer, "--initial-cluster-state", "existing")
	})
	t.Run("new, but bootstrapped before", func(t *testing.T) {
		// The peer lists this member with client URLs: it was started
		// before, so this empty data dir is one that was lost.
		pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		id := system.MemberID([]string{pu}, "etcd-cluster")
		peer := fakePeer(t, 0x1234, func(self string) string {
			b, _ := json.Marshal([]map[string]any{
				{"id": id, "peerURLs": []string{pu}, "name": "e2e", "clientURLs": []string{"http://127.0.0.1:9"}},
				{"id": system.MemberID([]string{self}, "etcd-cluster"), "peerURLs": []string{self}, "name": "b"},
			})
			return string(b)
		})
		refusal(t, 1, fmt.Sprintf("member %x has already been bootstrapped", id),
			"--initial-advertise-peer-urls", pu, "--initial-cluster", "e2e="+pu+",b="+peer)
	})
}

// A data dir that holds a member is that member: started again with flags
// of another cluster (another token), it says once that they are ignored
// and serves its data under its own ids.
func TestDataDirOfAnotherClusterKeepsItsIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir)
	if code, _, err := put(http.DefaultClient, s.url, "/kept", "v", nil); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	cluster := s.clusterID(t)
	s.stop(t)
	s2 := startServer(t, dir, "--initial-cluster-token", "another-cluster")
	if code, ev := get(t, s2.url, "/kept"); code != 200 || ev.Node.Value != "v" {
		t.Fatalf("get after restart: %d %+v", code, ev)
	}
	if got := s2.clusterID(t); got != cluster {
		t.Fatalf("cluster id %s after restart, was %s", got, cluster)
	}
	const said = "the data dir already holds a member of a cluster: --initial-cluster, --initial-cluster-state and --initial-cluster-token are ignored"
	if n := strings.Count(s2.logs.String(), said); n != 1 {
		t.Fatalf("said %d times that the flags are ignored; logs:\n%s", n, s2.logs.String())
	}
}

func (s *server) clusterID(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(s.url + "/v2/keys/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Etcd-Cluster-Id")
}
