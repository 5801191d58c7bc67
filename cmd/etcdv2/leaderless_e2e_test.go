package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// noLeaderBody checks b is etcd's error for a member without a leader.
func noLeaderBody(t *testing.T, what string, b []byte) {
	t.Helper()
	var e struct {
		ErrorCode int    `json:"errorCode"`
		Message   string `json:"message"`
		Cause     string `json:"cause"`
		Index     *int   `json:"index"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.ErrorCode != 300 || e.Message != "Raft Internal Error" ||
		e.Cause != "etcdserver: no leader" || e.Index == nil || !strings.HasSuffix(string(b), "}\n") || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("%s: body %q, want the no-leader error (%v)", what, b, err)
	}
}

type pollResult struct {
	status int
	body   []byte
	err    error
}

// openPoll starts a long poll on base and returns, once its headers are in,
// a channel that gets its whole body.
func openPoll(t *testing.T, base, target string) <-chan pollResult {
	t.Helper()
	resp, err := http.Get(base + target)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	out := make(chan pollResult, 1)
	go func() {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- pollResult{resp.StatusCode, b, err}
	}()
	return out
}

// A member cut off from its quorum: /health says so (503, etcd's body),
// every long poll and stream on it ends with the no-leader error and a body
// cut short, so clients go elsewhere, new watches are refused at once with
// 500 and the same error, and a key whose deadline passed (nobody expires
// it) shows no negative ttl. Once a leader is back, watches work again.
func TestMemberWithoutLeader(t *testing.T) {
	ms := startCluster(t, 3)
	s := ms[2]
	if code, _, err := put(http.DefaultClient, s.url, "/short", "v", map[string][]string{"ttl": {"2"}}); err != nil || code != 201 {
		t.Fatalf("put with ttl: %d %v", code, err)
	}
	poll := openPoll(t, s.url, "/v2/keys/w?wait=true")
	stream := openPoll(t, s.url, "/v2/keys/w?wait=true&stream=true&recursive=true")
	for _, m := range ms[:2] {
		m.cmd.Process.Signal(syscall.SIGKILL)
		m.cmd.Wait()
	}
	killed := time.Now()

	// /health: 503 once the member knows it has no leader, with etcd's body.
	var body string
	for code := 0; code != 503 || body != `{"health":"false","reason":"RAFT NO LEADER"}`+"\n"; {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("/health still %d %q 10 s after the others died", code, body)
		}
		time.Sleep(50 * time.Millisecond)
		resp, err := http.Get(s.url + "/health")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, body = resp.StatusCode, string(b)
	}
	t.Logf("/health said no leader %v after the kill", time.Since(killed).Round(time.Millisecond))

	// The waiting long polls end within a few election timeouts (0.5 s here).
	for name, ch := range map[string]<-chan pollResult{"long poll": poll, "stream": stream} {
		select {
		case r := <-ch:
			if r.status != 200 || !errors.Is(r.err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: status %d, error %v, want 200 and a body cut short", name, r.status, r.err)
			}
			noLeaderBody(t, name, r.body)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still open 10 s after the others died", name)
		}
	}
	t.Logf("watches ended %v after the kill", time.Since(killed).Round(time.Millisecond))

	// A new watch is refused at once.
	c := &http.Client{Timeout: 2 * time.Second}
	for _, q := range []string{"wait=true", "wait=true&stream=true", "wait=true&waitIndex=1"} {
		resp, err := c.Get(s.url + "/v2/keys/w?" + q)
		if err != nil {
			t.Fatalf("new watch %s: %v", q, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Fatalf("new watch %s: status %d %q, want 500", q, resp.StatusCode, b)
		}
		noLeaderBody(t, "new watch "+q, b)
	}

	// Past its deadline the key is still there (nobody proposed its
	// expiry); its ttl is left out, never negative as etcd shows it.
	for time.Since(killed) < 3*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(s.url + "/v2/keys/short")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		Node map[string]any `json:"node"`
	}
	if err := json.Unmarshal(b, &got); err != nil || resp.StatusCode != 200 || got.Node["expiration"] == nil {
		t.Fatalf("get past the deadline: %d %s", resp.StatusCode, b)
	}
	if ttl, has := got.Node["ttl"]; has {
		t.Fatalf("ttl %v past the deadline: %s", ttl, b)
	}

	// A leader back: watches wait again, and get their event.
	var spec []string
	for _, m := range ms {
		spec = append(spec, fmt.Sprintf("%s=http://127.0.0.1:%d", m.name, m.peer))
	}
	ms[0].start(t, strings.Join(spec, ","))
	ms[0].waitHealthy(t)
	s.waitHealthy(t)
	var again <-chan pollResult
	for deadline := time.Now().Add(10 * time.Second); ; {
		// The member hears of its leader on its next tick; until then a
		// watch may still be refused.
		resp, err := http.Get(s.url + "/v2/keys/w?wait=true")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			ch := make(chan pollResult, 1)
			go func() {
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				ch <- pollResult{resp.StatusCode, b, err}
			}()
			again = ch
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("watches still refused 10 s after a leader is back: %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _, err := put(http.DefaultClient, s.url, "/w", "back", nil); err != nil || code != 201 {
		t.Fatalf("put with a leader back: %d %v", code, err)
	}
	select {
	case r := <-again:
		if r.err != nil || !strings.Contains(string(r.body), `"value":"back"`) {
			t.Fatalf("watch with a leader back: %q %v", r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch with a leader back got no event")
	}
}
