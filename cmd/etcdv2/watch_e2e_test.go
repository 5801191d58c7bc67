package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchEvent is a watch answer as a client decodes it.
type watchEvent struct {
	Action   string    `json:"action"`
	Node     *nodeJSON `json:"node"`
	PrevNode *nodeJSON `json:"prevNode"`
}

func longPoll(t *testing.T, base, keyAndQuery string) (*http.Response, error) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	return c.Get(base + "/v2/keys" + keyAndQuery)
}

// readEvent decodes one watch answer (200 with an event).
func readEvent(t *testing.T, resp *http.Response, err error) *watchEvent {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("watch: %d %q %v", resp.StatusCode, body, err)
	}
	var ev watchEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("watch body %q: %v", body, err)
	}
	return &ev
}

// A directory's TTL expiry removes its children with it, and a watcher on a
// child (not recursive) and one on the directory (recursive) both hear the
// directory's expire, stamped by the leader's sweep.
func TestDirTTLExpiryReachesWatchersBelow(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest("PUT", s.url+"/v2/keys/d?dir=true&ttl=1", nil)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("mkdir with ttl: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, k := range []string{"/d/a", "/d/b"} {
		if code, _, err := put(c, s.url, k, "v", nil); err != nil || code != 201 {
			t.Fatalf("put %s: %d %v", k, code, err)
		}
	}
	type got struct {
		ev  *watchEvent
		err error
	}
	child, dir := make(chan got, 1), make(chan got, 1)
	go func() {
		resp, err := longPoll(t, s.url, "/d/a?wait=true")
		if err != nil {
			child <- got{err: err}
			return
		}
		child <- got{ev: readEvent(t, resp, nil)}
	}()
	go func() {
		resp, err := longPoll(t, s.url, "/d?wait=true&recursive=true")
		if err != nil {
			dir <- got{err: err}
			return
		}
		dir <- got{ev: readEvent(t, resp, nil)}
	}()
	for name, ch := range map[string]chan got{"child watcher": child, "recursive dir watcher": dir} {
		select {
		case g := <-ch:
			if g.err != nil {
				t.Fatalf("%s: %v", name, g.err)
			}
			if g.ev.Action != "expire" || g.ev.Node.Key != "/d" || g.ev.PrevNode == nil || g.ev.PrevNode.Key != "/d" {
				t.Fatalf("%s got %+v node %+v", name, g.ev, g.ev.Node)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s heard nothing", name)
		}
	}
	code, ev := get(t, s.url, "/d/a")
	if code != 404 || ev.Node != nil {
		t.Fatalf("child after expiry: %d", code)
	}
}

// Watchers chasing concurrent writers with waitIndex = last + 1 see every
// index exactly once, in order: nothing falls between the history and the
// live notification.
func TestWaitIndexChasingConcurrentWritesSeesEveryIndex(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := &http.Client{Timeout: 5 * time.Second}
	_, first, err := put(c, s.url, "/o/start", "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := first.Node.ModifiedIndex
	const writers, each = 4, 100
	last := start + writers*each

	var wg sync.WaitGroup
	seen := make([][]uint64, 5)
	for w := range seen {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wc := &http.Client{Timeout: 20 * time.Second}
			for next := start + 1; next <= last; {
				resp, err := wc.Get(fmt.Sprintf("%s/v2/keys/o?wait=true&recursive=true&waitIndex=%d", s.url, next))
				if err != nil {
					t.Errorf("watcher %d: %v", w, err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if len(body) == 0 {
					continue // the server ended the poll empty: watch again
				}
				var ev watchEvent
				if err := json.Unmarshal(body, &ev); err != nil || ev.Node == nil {
					t.Errorf("watcher %d: %q", w, body)
					return
				}
				seen[w] = append(seen[w], ev.Node.ModifiedIndex)
				next = ev.Node.ModifiedIndex + 1
			}
		}(w)
	}
	var ww sync.WaitGroup
	for w := 0; w < writers; w++ {
		ww.Add(1)
		go func(w int) {
			defer ww.Done()
			for i := 0; i < each; i++ {
				if code, _, err := put(c, s.url, fmt.Sprintf("/o/w%d", w), fmt.Sprint(i), nil); err != nil || code != 200 && code != 201 {
					t.Errorf("put: %d %v", code, err)
					return
				}
			}
		}(w)
	}
	ww.Wait()
	wg.Wait()
	for w, idx := range seen {
		if uint64(len(idx)) != last-start {
			t.Fatalf("watcher %d saw %d events, want %d", w, len(idx), last-start)
		}
		for i, x := range idx {
			if x != start+1+uint64(i) {
				t.Fatalf("watcher %d: event %d has index %d, want %d", w, i, x, start+1+uint64(i))
			}
		}
	}
}

// A waitIndex older than the kept history is error 401 with etcd's cause,
// HTTP 400; the oldest kept index still answers, and every watch answer names
// the history's start.
func TestHistoryBoundary(t *testing.T) {
	s := startServer(t, t.TempDir(), "--watch-history", "20")
	c := &http.Client{Timeout: 5 * time.Second}
	var lastIdx uint64
	for i := 0; i < 25; i++ {
		_, ev, err := put(c, s.url, "/h/k", fmt.Sprint(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		lastIdx = ev.Node.ModifiedIndex
	}
	oldest := lastIdx - 19
	resp, err := http.Get(fmt.Sprintf("%s/v2/keys/h/k?wait=true&waitIndex=%d", s.url, oldest-1))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [%d/%d]","index":%d}`+"\n", oldest, oldest-1, lastIdx)
	if resp.StatusCode != 400 || string(body) != want {
		t.Fatalf("below the history: %d %q, want 400 %q", resp.StatusCode, body, want)
	}
	resp, err = http.Get(fmt.Sprintf("%s/v2/keys/h/k?wait=true&waitIndex=%d", s.url, oldest))
	ev := readEvent(t, resp, err)
	if ev.Node.ModifiedIndex != oldest || resp.Header.Get("X-Etcd-History-Start") != fmt.Sprint(oldest) ||
		resp.Header.Get("X-Etcd-Index") != fmt.Sprint(lastIdx) {
		t.Fatalf("oldest kept: %+v headers %v", ev.Node, resp.Header)
	}
}

// A stream read slowly still gets every event, in order.
func TestSlowStreamIsLossless(t *testing.T) {
	s := startServer(t, t.TempDir())
	resp, err := http.Get(s.url + "/v2/keys/st?wait=true&stream=true&recursive=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	c := &http.Client{Timeout: 5 * time.Second}
	const n = 500
	go func() {
		for i := 0; i < n; i++ {
			if _, _, err := put(c, s.url, "/st/k", fmt.Sprint(i), url.Values{"x": {strings.Repeat("p", 512)}}); err != nil {
				return
			}
		}
	}()
	r := bufio.NewReader(resp.Body)
	dec := json.NewDecoder(r)
	for i := 0; i < n; i++ {
		if i%50 == 0 {
			time.Sleep(50 * time.Millisecond) // a slow reader now and then
		}
		var ev watchEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Node.Value != fmt.Sprint(i) {
			t.Fatalf("event %d carries value %q", i, ev.Node.Value)
		}
	}
}

// A watch whose client went away is gone from the server by the max wait.
func TestAbandonedWatchIsRemoved(t *testing.T) {
	s := startServer(t, t.TempDir(), "--watch-max-wait", "1s")
	watchers := func() int {
		resp, err := http.Get(s.url + "/v2/stats/store")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			Watchers int `json:"watchers"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.Watchers
	}
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/v2/keys/gone?wait=true", nil)
			if resp, err := c.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body) // blocks until the context goes
				resp.Body.Close()
			}
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); watchers() != 10; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watchers registered: %d, want 10", watchers())
		}
	}
	cancel() // the clients go away without a word to the server
	wg.Wait()
	tr.CloseIdleConnections()
	for deadline := time.Now().Add(5 * time.Second); watchers() != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d watchers still registered after their clients left", watchers())
		}
	}
}
