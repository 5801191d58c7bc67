package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// load writes from 32 connections, stops the server with sig after d, and
// returns every write it acknowledged (the last per key).
func load(t *testing.T, s *server, d time.Duration, sig syscall.Signal) map[string]acked {
	t.Helper()
	var mu sync.Mutex
	got := map[string]acked{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second}
			for i := 0; i < 20000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("/load/w%d/k%d", w, i%40)
				val := fmt.Sprintf("v%d-%d", w, i)
				code, ev, err := put(c, s.url, key, val, nil)
				if err != nil {
					return // the stop tore the connection down
				}
				if code != 200 && code != 201 {
					t.Errorf("PUT %s: status %d", key, code)
					return
				}
				mu.Lock()
				got[key] = acked{val, ev.Node.ModifiedIndex}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(d)
	s.cmd.Process.Signal(sig)
	s.cmd.Wait()
	close(stop)
	wg.Wait()
	return got
}

// firstAnswer connects to addr as soon as it accepts connections (a refused
// connection says nothing about the member's state, so that alone is
// retried) and returns the answer to the very first request sent on it.
func firstAnswer(t *testing.T, s *server, target string, timeout time.Duration) (*http.Response, []byte, error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var conn net.Conn
	for {
		var err error
		conn, err = net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted member never accepted a connection: %v; logs:\n%s", err, s.logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, s.addr); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, err
}

type listing struct {
	Node struct {
		Nodes []struct {
			Nodes []nodeJSON `json:"nodes"`
		} `json:"nodes"`
	} `json:"node"`
}

// A restarted member answers nothing, not even its first request, from a
// state older than the one it acknowledged before it stopped: not a read,
// not a watch, not the store's counters. The first connection that gets in
// is used at once, with no retry that could hide a window.
func TestFirstAnswerAfterRestartIsCurrent(t *testing.T) {
	for _, c := range []struct {
		name  string
		sig   syscall.Signal
		extra []string
	}{
		{"kill", syscall.SIGKILL, nil},
		{"term", syscall.SIGTERM, nil},
		{"kill-snapshots", syscall.SIGKILL, []string{"--snapshot-count", "300"}},
		{"term-snapshots", syscall.SIGTERM, []string{"--snapshot-count", "300"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			s := startServer(t, dir, c.extra...)
			for round, first := range []string{"get", "watch", "stats"} {
				got := load(t, s, 600*time.Millisecond, c.sig)
				if len(got) < 100 {
					t.Fatalf("round %d: only %d keys acknowledged; the load did not run", round, len(got))
				}
				var maxIndex uint64
				for _, a := range got {
					maxIndex = max(maxIndex, a.index)
				}
				s = launch(t, dir, c.extra...)
				switch first {
				case "get":
					checkFirstGet(t, s, got, maxIndex)
				case "watch":
					checkFirstWatch(t, s, maxIndex)
				case "stats":
					checkFirstStats(t, s, maxIndex)
				}
				s.waitHealthy(t)
			}
		})
	}
}

func checkFirstGet(t *testing.T, s *server, got map[string]acked, maxIndex uint64) {
	t.Helper()
	resp, body, err := firstAnswer(t, s, "/v2/keys/load?recursive=true", 10*time.Second)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first GET after restart: %v %v %.200s", resp, err, body)
	}
	if idx, _ := strconv.ParseUint(resp.Header.Get("X-Etcd-Index"), 10, 64); idx < maxIndex {
		t.Fatalf("first GET after restart: X-Etcd-Index %d, below the acknowledged %d", idx, maxIndex)
	}
	var l listing
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("first GET body: %v", err)
	}
	served := map[string]nodeJSON{}
	for _, d := range l.Node.Nodes {
		for _, n := range d.Nodes {
			served[n.Key] = n
		}
	}
	for key, a := range got {
		n, ok := served[key]
		// A later write may have been applied without being acknowledged;
		// it then carries a higher index.
		if !ok || n.ModifiedIndex < a.index || (n.ModifiedIndex == a.index && n.Value != a.value) {
			t.Fatalf("%s: acknowledged %q@%d, first answer after restart %+v (present %v)", key, a.value, a.index, n, ok)
		}
	}
}

// A watch for the next change must wait for one: no event comes, since
// nothing writes. An answer within the wait is an old event replayed.
func checkFirstWatch(t *testing.T, s *server, maxIndex uint64) {
	t.Helper()
	resp, body, err := firstAnswer(t, s, "/v2/keys/load?wait=true&recursive=true", 400*time.Millisecond)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return // still waiting, as it must
	}
	t.Fatalf("first watch after restart answered at once (acknowledged index %d): %v %v %.300s", maxIndex, resp, err, body)
}

// The counters come from the same state: the index of the last
// acknowledged write is at most the sets the store has counted (every write
// of the load is a set, and nothing else writes).
func checkFirstStats(t *testing.T, s *server, maxIndex uint64) {
	t.Helper()
	resp, body, err := firstAnswer(t, s, "/v2/stats/store", 10*time.Second)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first stats after restart: %v %v %.200s", resp, err, body)
	}
	var st struct {
		SetsSuccess uint64 `json:"setsSuccess"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("stats body %s: %v", body, err)
	}
	if st.SetsSuccess < maxIndex {
		t.Fatalf("first stats after restart: setsSuccess %d, below the acknowledged index %d", st.SetsSuccess, maxIndex)
	}
}

// SIGTERM ends the member within a few seconds whatever its clients do: a
// client that sent half a request used to hold the exit for fasthttp's
// minute-long read timeout, and a restart meanwhile failed on the file lock.
func TestShutdownIsBoundedWithAHalfSentRequest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir)
	if code, _, err := put(http.DefaultClient, s.url, "/kept", "yes", nil); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	half, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	fmt.Fprintf(half, "PUT /v2/keys/half HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nvalue=", s.addr)
	head, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	fmt.Fprintf(head, "GET /v2/keys/kept HTTP/1.1\r\nHost: %s\r\n", s.addr) // no end of head
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	s.stop(t) // fails the test if the exit takes 10 s or is not clean
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("SIGTERM took %v to end the member", took)
	}
	s2 := startServer(t, dir)
	if code, ev := get(t, s2.url, "/kept"); code != 200 || ev.Node.Value != "yes" {
		t.Fatalf("after the restart: %d %+v", code, ev.Node)
	}
}

// On a disk that fills up the member keeps serving what it had applied and
// answers writes with an error a client retries on; once there is room again
// it comes back by itself, with every acknowledged write and none of the
// failed ones, and it restarts cleanly. The disk is a small tmpfs the test
// mounts (it needs root, as CI has).
func TestFullDiskStopsWritesNotTheMember(t *testing.T) {
	fs := filepath.Join(t.TempDir(), "fs")
	if err := os.MkdirAll(fs, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", fs).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v: %s): this test needs root", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", fs).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", fs, err, out)
		}
	})
	dir := filepath.Join(fs, "data")
	s := startServer(t, dir)
	c := &http.Client{Timeout: 10 * time.Second}
	big := strings.Repeat("x", 100<<10)
	if code, _, err := put(c, s.url, "/small", "kept", nil); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	// Leave the disk almost full, then write until a write fails.
	filler := filepath.Join(fs, "filler")
	fillUp(t, filler)
	acked := map[string]bool{}
	var failedKey string
	var failed struct {
		ErrorCode int    `json:"errorCode"`
		Cause     string `json:"cause"`
	}
	for i := 0; i < 600 && failedKey == ""; i++ {
		key := fmt.Sprintf("/big/%d", i)
		req, _ := http.NewRequest("PUT", s.url+"/v2/keys"+key, strings.NewReader("value="+big))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("PUT %s: %v; logs:\n%s", key, err, s.logs.String())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 201:
			acked[key] = true
		case 500:
			if err := json.Unmarshal(body, &failed); err != nil || failed.ErrorCode != 300 || !strings.Contains(failed.Cause, "cannot be written") {
				t.Fatalf("PUT on a full disk: 500 %s", body)
			}
			failedKey = key
		default:
			t.Fatalf("PUT %s: %d %s", key, resp.StatusCode, body)
		}
	}
	if failedKey == "" {
		t.Fatal("600 writes of 100 KiB on a full 48 MiB disk all succeeded")
	}
	// Reads and watches go on meanwhile; writes keep failing fast.
	if code, ev := get(t, s.url, "/small"); code != 200 || ev.Node.Value != "kept" {
		t.Fatalf("read while the disk is full: %d %+v", code, ev.Node)
	}
	resp, err := http.Get(s.url + "/v2/keys/small?wait=true&waitIndex=1")
	if ev := readEvent(t, resp, err); ev.Node.Key != "/small" || ev.Node.Value != "kept" {
		t.Fatalf("watch from the history while the disk is full: %+v", ev.Node)
	}
	if code, _, _ := put(c, s.url, "/during", "x", nil); code != 500 {
		t.Fatalf("a write while the disk is full: %d", code)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, err := put(c, s.url, "/after", "back", nil)
		if err == nil && code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes did not resume once there was room: %d %v; logs:\n%s", code, err, s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	check := func(s *server, when string) {
		t.Helper()
		for key := range acked {
			if code, _ := get(t, s.url, key); code != 200 {
				t.Fatalf("%s: acknowledged %s is gone: %d", when, key, code)
			}
		}
		for _, key := range []string{failedKey, "/during"} {
			if code, _ := get(t, s.url, key); code != 404 {
				t.Fatalf("%s: the failed write to %s was applied: %d", when, key, code)
			}
		}
	}
	check(s, "after coming back")
	s.stop(t)
	check(startServer(t, dir), "after a restart")
}

// fillUp writes path until the file system has no room left.
func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := 0; i < 1024; i++ {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatal("1 GiB written and the disk is not full")
}
