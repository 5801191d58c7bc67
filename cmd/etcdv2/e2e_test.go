package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run the real binary as a subprocess, as an operator
// would, so that kill -9 and restarts exercise the disk for real.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdv2-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "etcdv2")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic("building etcdv2: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type server struct {
	cmd  *exec.Cmd
	url  string
	addr string // host:port of the client URL
	logs *syncBuilder
}

type syncBuilder struct {
	mu sync.Mutex
	strings.Builder
}

func (b *syncBuilder) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Builder.Write(p)
}

func (b *syncBuilder) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Builder.String()
}

// startServer starts the binary on fresh loopback ports with its data in dir,
// waits until it is healthy, and stops it (by its own handle) when the test ends.
func startServer(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	s := launch(t, dir, extra...)
	s.waitHealthy(t)
	return s
}

// launch starts the binary on fresh loopback ports with its data in dir and
// returns once it listens on them (or has exited, or has not bound them in
// a few seconds); it stops it (by its own handle) when the test ends. When
// another process took one of the ports first, it starts it again on new
// ones.
func launch(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	for try := 1; ; try++ {
		s, client, peer := launchOnce(t, dir, extra...)
		busy := waitBound(s, 5*time.Second, client, peer)
		if busy == 0 {
			return s
		}
		if try == 10 {
			t.Fatalf("port %d taken by another process, %d times; logs:\n%s", busy, try, s.logs.String())
		}
		t.Logf("port %d was taken by another process; starting the member again on new ports", busy)
	}
}

func launchOnce(t *testing.T, dir string, extra ...string) (s *server, client, peer int) {
	t.Helper()
	client, peer = freePort(t), freePort(t)
	cu := fmt.Sprintf("http://127.0.0.1:%d", client)
	pu := fmt.Sprintf("http://127.0.0.1:%d", peer)
	args := append([]string{"--name", "e2e", "--data-dir", dir, "--log-level", "warn",
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu}, extra...)
	cmd := exec.Command(binPath, args...)
	logs := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s = &server{cmd: cmd, url: cu, addr: fmt.Sprintf("127.0.0.1:%d", client), logs: logs}
	t.Cleanup(func() { s.kill() })
	return s, client, peer
}

func (s *server) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), `"true"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			t.Fatalf("server did not become healthy; logs:\n%s", s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exited with %v after SIGTERM; logs:\n%s", err, s.logs.String())
		}
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
		t.Fatal("server did not stop within 10s of SIGTERM")
	}
}

type nodeJSON struct {
	Key           string `json:"key"`
	Value         string `json:"value"`
	ModifiedIndex uint64 `json:"modifiedIndex"`
}

type eventJSON struct {
	Action string    `json:"action"`
	Node   *nodeJSON `json:"node"`
}

func put(c *http.Client, base, key, value string, extra url.Values) (int, *eventJSON, error) {
	form := url.Values{"value": {value}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest("PUT", base+"/v2/keys"+key, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return eventOf(c.Do(req))
}

// eventOf reads a write's answer as an event.
func eventOf(resp *http.Response, err error) (int, *eventJSON, error) {
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var ev eventJSON
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, &ev, nil
}

func get(t *testing.T, base, key string) (int, *eventJSON) {
	t.Helper()
	resp, err := http.Get(base + "/v2/keys" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ev eventJSON
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, &ev
}

type acked struct {
	value string
	index uint64
}

// Every write the server acknowledged before a SIGKILL is there after the
// restart, with the value and index it was acknowledged with; also when
// snapshots are taken every few hundred entries, so kills land during them.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	for _, c := range []struct {
		name  string
		extra []string
	}{{"default", nil}, {"snapshots", []string{"--snapshot-count", "200"}}} {
		t.Run(c.name, func(t *testing.T) {
			for round := 0; round < 3; round++ {
				killAndCheck(t, filepath.Join(t.TempDir(), "data"), c.extra)
			}
		})
	}
}

func killAndCheck(t *testing.T, dir string, extra []string) {
	t.Helper()
	s := startServer(t, dir, extra...)

	got := load(t, s, 700*time.Millisecond, syscall.SIGKILL)
	if len(got) < 100 {
		t.Fatalf("only %d writes acknowledged before the kill; the load did not run", len(got))
	}

	t.Logf("%d keys acknowledged before SIGKILL", len(got))
	s2 := startServer(t, dir, extra...) // on new ports: the data dir, not the flags, says who it is
	var maxIndex uint64
	for key, a := range got {
		code, ev := get(t, s2.url, key)
		if code != 200 || ev.Node == nil {
			t.Fatalf("GET %s after restart: %d", key, code)
		}
		// A later write to the same key may have been applied but not acknowledged
		// before the kill; it must then carry a higher index.
		if ev.Node.ModifiedIndex < a.index || (ev.Node.ModifiedIndex == a.index && ev.Node.Value != a.value) {
			t.Fatalf("%s: acknowledged %q@%d, after restart %q@%d", key, a.value, a.index, ev.Node.Value, ev.Node.ModifiedIndex)
		}
		if a.index > maxIndex {
			maxIndex = a.index
		}
	}
	// The next write continues the index sequence past everything acknowledged.
	code, ev, err := put(http.DefaultClient, s2.url, "/after", "x", nil)
	if err != nil || code != 201 || ev.Node.ModifiedIndex <= maxIndex {
		t.Fatalf("write after restart: %d %+v %v (max acknowledged index %d)", code, ev, err, maxIndex)
	}
}

// A member that snapshots often restarts from its newest snapshot plus the
// entries after it, with every key and the same etcd index.
func TestRestartFromSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "--snapshot-count", "100")
	c := &http.Client{Timeout: 5 * time.Second}
	var last uint64
	for i := 0; i < 1050; i++ {
		var extra url.Values
		if i%10 == 0 {
			extra = url.Values{"ttl": {"3600"}} // deadlines must survive the snapshot too
		}
		code, ev, err := put(c, s.url, fmt.Sprintf("/snap/d%d/k%d", i%7, i), fmt.Sprint(i), extra)
		if err != nil || (code != 201 && code != 200) {
			t.Fatalf("put %d: %d %v", i, code, err)
		}
		last = ev.Node.ModifiedIndex
	}
	s.stop(t)
	s2 := startServer(t, dir, "--snapshot-count", "100")
	for i := 0; i < 1050; i++ {
		code, ev := get(t, s2.url, fmt.Sprintf("/snap/d%d/k%d", i%7, i))
		if code != 200 || ev.Node.Value != fmt.Sprint(i) {
			t.Fatalf("key %d after restart: %d %+v", i, code, ev.Node)
		}
	}
	resp, err := http.Get(s2.url + "/v2/keys/snap")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if idx := resp.Header.Get("X-Etcd-Index"); idx != fmt.Sprint(last) {
		t.Fatalf("X-Etcd-Index after restart %s, want %d", idx, last)
	}
	// The watch history is back as etcd's is after a restart: the last 1000
	// events (those in the snapshot, then those replayed after it). A watch
	// below them is cleared (401); the oldest answers a watch at its index.
	resp, err = http.Get(s2.url + "/v2/keys/snap?wait=true&recursive=true&waitIndex=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var cleared struct {
		ErrorCode int    `json:"errorCode"`
		Cause     string `json:"cause"`
	}
	var start uint64
	if json.Unmarshal(body, &cleared) != nil || resp.StatusCode != 400 || cleared.ErrorCode != 401 {
		t.Fatalf("waitIndex=1 after restart: %d %s", resp.StatusCode, body)
	}
	if _, err := fmt.Sscanf(cleared.Cause, "the requested history has been cleared [%d/1]", &start); err != nil || start != last-999 {
		t.Fatalf("cause %q (%v), want the history to start at %d", cleared.Cause, err, last-999)
	}
	resp, err = http.Get(fmt.Sprintf("%s/v2/keys/snap?wait=true&recursive=true&waitIndex=%d", s2.url, start))
	ev := readEvent(t, resp, err)
	if ev.Node.ModifiedIndex != start {
		t.Fatalf("waitIndex=%d after restart: event %d", start, ev.Node.ModifiedIndex)
	}
}
