package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/system"
)

// fullNode is a node as a response shows it, every field a restore must keep.
type fullNode struct {
	Key           string      `json:"key"`
	Value         string      `json:"value"`
	Dir           bool        `json:"dir"`
	Expiration    string      `json:"expiration"`
	TTL           int64       `json:"ttl"`
	ModifiedIndex uint64      `json:"modifiedIndex"`
	CreatedIndex  uint64      `json:"createdIndex"`
	Nodes         []*fullNode `json:"nodes"`
}

// getFull reads a key (with query) and its X-Etcd-Index.
func getFull(t *testing.T, base, key string) (int, *fullNode, uint64) {
	t.Helper()
	resp, err := http.Get(base + "/v2/keys" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ev struct {
		Node *fullNode `json:"node"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Etcd-Index"), 10, 64)
	return resp.StatusCode, ev.Node, idx
}

func flatten(n *fullNode, out map[string]*fullNode) {
	for _, c := range n.Nodes {
		out[c.Key] = c
		flatten(c, out)
	}
}

// ack is one acknowledged write of the load.
type loadAck struct {
	value string
	index uint64
}

// backupLoad writes from a few connections spread over the members until
// stop, and records every acknowledged write per key; a key whose write
// failed is marked unsure (the write may or may not have happened).
type backupLoad struct {
	mu     sync.Mutex
	acks   map[string][]loadAck
	unsure map[string]bool
	wg     sync.WaitGroup
	stop   chan struct{}
}

func startLoad(t *testing.T, ms []*member) *backupLoad {
	l := &backupLoad{acks: map[string][]loadAck{}, unsure: map[string]bool{}, stop: make(chan struct{})}
	for w := range 6 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := &http.Client{Timeout: 5 * time.Second}
			base := ms[w%len(ms)].url
			for i := 0; i < 5000; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				key, val := fmt.Sprintf("/load/w%d/k%d", w, i%25), fmt.Sprintf("v%d-%d", w, i)
				code, ev, err := put(c, base, key, val, nil)
				l.mu.Lock()
				if err != nil || code != 200 && code != 201 {
					l.unsure[key] = true
				} else {
					l.acks[key] = append(l.acks[key], loadAck{val, ev.Node.ModifiedIndex})
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// maxIndex is the highest index acknowledged so far.
func (l *backupLoad) maxIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m uint64
	for _, as := range l.acks {
		for _, a := range as {
			m = max(m, a.index)
		}
	}
	return m
}

func (l *backupLoad) end() {
	close(l.stop)
	l.wg.Wait()
}

// at is what each key held at etcd index e: its last write at or before e
// (every write of the load is acknowledged and recorded once the load has
// ended); absent keys were first written after e.
func (l *backupLoad) at(e uint64) map[string]loadAck {
	out := map[string]loadAck{}
	for key, as := range l.acks {
		if l.unsure[key] {
			continue
		}
		for _, a := range as {
			if a.index <= e && a.index >= out[key].index {
				out[key] = a
			}
		}
	}
	return out
}

// run runs the binary as a tool and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return 0, string(out)
}

// A backup taken from a follower while writers keep writing holds the key
// space at one etcd index E that includes every write acknowledged before
// it began; restored into a new one-member and a new three-member cluster,
// each member serves exactly the keys, values, indexes, TTLs (the same
// expiration), hidden keys and directories of E, and the next write gets
// E+1. A damaged or cut file and a used data dir are refused.
func TestBackupRestoreUnderLoad(t *testing.T) {
	src := startCluster(t, 3)
	c := &http.Client{Timeout: 5 * time.Second}
	setup := []struct {
		key   string
		extra url.Values
	}{
		{"/_hidden", nil},
		{"/_hdir/x", nil},
		{"/a/b/c", nil},
		{"/ttl", url.Values{"ttl": {"3600"}}},
		{"/ttldir", url.Values{"dir": {"true"}, "ttl": {"3600"}}},
		{"/emptydir", url.Values{"dir": {"true"}}},
	}
	for _, s := range setup {
		form := s.extra
		value := "value of " + s.key
		if form.Get("dir") == "true" {
			value = ""
		}
		if code, ev, err := put(c, src[0].url, s.key, value, form); err != nil || code != 201 {
			t.Fatalf("put %s: %d %+v %v", s.key, code, ev, err)
		}
	}
	static := map[string]*fullNode{}
	for _, s := range setup {
		code, n, _ := getFull(t, src[0].url, s.key+"?quorum=true")
		if code != 200 {
			t.Fatalf("get %s: %d", s.key, code)
		}
		static[s.key] = n
	}

	var follower *member
	for _, m := range src {
		if m.state(t) == "StateFollower" {
			follower = m
		}
	}
	if follower == nil {
		t.Fatal("no follower")
	}
	load := startLoad(t, src)
	time.Sleep(300 * time.Millisecond)
	before := load.maxIndex()
	file := filepath.Join(t.TempDir(), "backup.etcdv2")
	code, out := run(t, "backup", "--endpoints", "http://127.0.0.1:1,"+follower.url, "--file", file)
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	time.Sleep(200 * time.Millisecond)
	load.end()
	var logged struct {
		EtcdIndex uint64 `json:"etcdIndex"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &logged); err != nil || logged.EtcdIndex == 0 {
		t.Fatalf("backup output %q: %v", out, err)
	}
	e := logged.EtcdIndex
	if before < 50 || e < before || load.maxIndex() <= e {
		t.Fatalf("backup at etcd index %d: acknowledged before it %d, by the end %d; the load did not run around it", e, before, load.maxIndex())
	}
	want := load.at(e)
	t.Logf("backup at etcd index %d (acknowledged before it began: %d, keys %d)", e, before, len(want))

	check := func(name, base string) {
		t.Helper()
		code, root, idx := getFull(t, base, "/load?recursive=true&sorted=true")
		if code != 200 || idx != e {
			t.Fatalf("%s: GET /load: %d, X-Etcd-Index %d, want %d", name, code, idx, e)
		}
		got := map[string]*fullNode{}
		flatten(root, got)
		for key, a := range want {
			n := got[key]
			if n == nil || n.Value != a.value || n.ModifiedIndex != a.index {
				t.Fatalf("%s: %s is %+v, want %q at %d (the last write at or before %d)", name, key, n, a.value, a.index, e)
			}
		}
		for key, n := range got {
			if !n.Dir && n.ModifiedIndex > e {
				t.Fatalf("%s: %s modified at %d, after the backup's index %d", name, key, n.ModifiedIndex, e)
			}
		}
		for key, s := range static {
			_, n, _ := getFull(t, base, key)
			if n == nil {
				t.Fatalf("%s: %s is missing", name, key)
			}
			n.TTL, s.TTL = 0, 0 // seconds left: moves with the clock
			if fmt.Sprintf("%+v", *n) != fmt.Sprintf("%+v", *s) {
				t.Fatalf("%s: %s is %+v, want %+v", name, key, n, s)
			}
		}
		if _, n, _ := getFull(t, base, "/ttl"); n.Expiration == "" || n.TTL < 3000 {
			t.Fatalf("%s: /ttl lost its TTL: %+v", name, n)
		}
	}

	// Refusals first: they must leave nothing behind.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	for _, c := range []struct {
		what string
		data []byte
		want string
	}{
		{"truncated", data[:len(data)-1], "truncated"},
		{"cut in the middle", data[:len(data)/2], "truncated"},
		{"altered", func() []byte { b := append([]byte(nil), data...); b[len(b)/2] ^= 1; return b }(), "SHA-256 does not match"},
		{"empty", nil, "not an etcdv2 backup"},
	} {
		os.WriteFile(bad, c.data, 0o600)
		dir := filepath.Join(t.TempDir(), "d")
		code, out := run(t, "restore", "--file", bad, "--data-dir", dir, "--name", "x", "--initial-advertise-peer-urls", "http://127.0.0.1:1")
		if code != 1 || !strings.Contains(out, c.want) {
			t.Fatalf("restore of a %s file: exit %d: %s", c.what, code, out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("restore of a %s file left a data dir: %v", c.what, err)
		}
	}

	restore := func(t *testing.T, n int) []*member {
		ms, spec := newMembers(t, n)
		for _, m := range ms {
			code, out := run(t, "restore", "--file", file, "--data-dir", m.dir, "--name", m.name, "--initial-cluster", spec,
				"--initial-cluster-token", "e2e-cluster", "--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", m.peer))
			if code != 0 {
				t.Fatalf("restore %s: exit %d: %s", m.name, code, out)
			}
		}
		code, out := run(t, "restore", "--file", file, "--data-dir", ms[0].dir, "--name", ms[0].name, "--initial-cluster", spec,
			"--initial-cluster-token", "e2e-cluster", "--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", ms[0].peer))
		if code != 1 || !strings.Contains(out, "is not empty") {
			t.Fatalf("restore into a restored data dir: exit %d: %s", code, out)
		}
		for _, m := range ms {
			m.start(t, spec)
		}
		for _, m := range ms {
			m.waitHealthy(t)
		}
		// The ids are those of a new cluster of these flags.
		var ids []uint64
		for _, m := range ms {
			ids = append(ids, system.MemberID([]string{fmt.Sprintf("http://127.0.0.1:%d", m.peer)}, "e2e-cluster"))
		}
		resp, err := http.Get(ms[0].url + "/v2/members")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Etcd-Cluster-Id"); got != actors.HexID(system.ClusterID(ids)) {
			t.Fatalf("cluster id %s, want %s", got, actors.HexID(system.ClusterID(ids)))
		}
		return ms
	}

	t.Run("one member", func(t *testing.T) {
		ms := restore(t, 1)
		check("restored m0", ms[0].url)
		if code, ev, err := put(c, ms[0].url, "/next", "n", nil); err != nil || code != 201 || ev.Node.ModifiedIndex != e+1 {
			t.Fatalf("first write: %d %+v %v, want index %d", code, ev, err, e+1)
		}
		// Restarted, it is the member it was: the snapshot and the write.
		ms[0].stop(t)
		ms[0].restart(t)
		ms[0].waitHealthy(t)
		if code, n, idx := getFull(t, ms[0].url, "/next"); code != 200 || n.Value != "n" || idx != e+1 {
			t.Fatalf("after a restart: /next %d %+v at %d", code, n, idx)
		}
		for key, a := range want {
			if code, n, _ := getFull(t, ms[0].url, key); code != 200 || n.Value != a.value || n.ModifiedIndex != a.index {
				t.Fatalf("after a restart: %s is %d %+v, want %q at %d", key, code, n, a.value, a.index)
			}
			break
		}
	})
	t.Run("three members", func(t *testing.T) {
		ms := restore(t, 3)
		for _, m := range ms {
			check("restored "+m.name, m.url)
		}
		if code, ev, err := put(c, ms[1].url, "/next", "n", nil); err != nil || code != 201 || ev.Node.ModifiedIndex != e+1 {
			t.Fatalf("first write: %d %+v %v, want index %d", code, ev, err, e+1)
		}
		for _, m := range ms {
			if code, n, idx := getFull(t, m.url, "/next?quorum=true"); code != 200 || n.Value != "n" || idx != e+1 {
				t.Fatalf("%s: /next %d %+v at %d", m.name, code, n, idx)
			}
		}
	})
}
