package httpfront

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

func testEvent(i uint64) *actors.Event {
	return &actors.Event{Action: actors.ActionSet, Index: i, Node: &actors.Node{Key: "/w", Value: "v" + itoa(int(i)), ModifiedIndex: i, CreatedIndex: i}}
}

func eventJSON(i uint64) string { return string(testEvent(i).AppendJSON(nil, testNow, false)) }

// openWatch sends a watch request and returns once its headers arrived.
func (h *harness) openWatch(target string) (net.Conn, *http.Response, *bufio.Reader) {
	h.t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		h.t.Fatal(err)
	}
	resp, err := roundTrip(conn, "GET", target, nil, "")
	if err != nil {
		h.t.Fatalf("watch %s: %v", target, err)
	}
	return conn, resp, bufio.NewReader(resp.Body)
}

func TestWatchAnsweredFromHistory(t *testing.T) {
	h := newHarness(t, withWatch(func(w *actors.Watch) {
		w.Sink <- ack(20)
		w.Sink <- &actors.WatchEvent{Event: testEvent(5), EtcdIndex: 20, HistoryStart: 1}
	}))
	// Whether the event is in the sink when the front looks right after the
	// acknowledgment decides only the framing (whole body or one chunk).
	r := h.get("/v2/keys/w?wait=true&waitIndex=5&recursive=true")
	expect(t, "one-shot from history", r, 200, eventJSON(5), map[string]string{
		"Content-Type": appJSON, "X-Etcd-Index": "20", "X-Raft-Index": "9", "X-Raft-Term": "2",
		"X-Etcd-Cluster-Id": "8c69a9a8e935cdcd", "X-Etcd-History-Start": "1",
	})
	w, _ := h.sink(1)
	if want := (actors.Watch{ID: w.ID, Path: "/w", Recursive: true, SinceIndex: 5, Sink: w.Sink}); !reflect.DeepEqual(*w, want) {
		t.Errorf("watch %+v, want %+v", *w, want)
	}
	if u := unwatches(h.hub); len(u) != 0 {
		t.Errorf("an answered one-shot was unwatched: %v", u)
	}
	if rs := reads(h.tree); len(rs) != 0 {
		t.Errorf("a watch read the tree: %+v", rs)
	}
}

func TestWatchErrorAtRegistration(t *testing.T) {
	e := actors.NewError(actors.EcodeEventIndexCleared, "the requested history has been cleared [1008/8]", 2007)
	h := newHarness(t, withWatch(func(w *actors.Watch) {
		w.Sink <- &actors.WatchEvent{Err: e, EtcdIndex: 2007, HistoryStart: 1008}
	}))
	r := h.get("/v2/keys/w?wait=true&waitIndex=8&stream=true")
	expect(t, "401", r, 400, string(e.AppendJSON(nil)), map[string]string{
		"Content-Type": appJSON, "X-Etcd-Index": "2007", "X-Raft-Index": "", "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd",
	})
}

func TestWatchLiveOneShot(t *testing.T) {
	h := newHarness(t)
	_, resp, body := h.openWatch("/v2/keys/w?wait=true")
	if resp.StatusCode != 200 || resp.Header.Get("X-Etcd-Index") != "7" || resp.Header.Get("X-Raft-Index") != "9" ||
		resp.Header.Get("Content-Type") != appJSON || len(resp.TransferEncoding) != 1 {
		t.Fatalf("headers before the event: %d %v %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	w, sink := h.sink(1)
	if w.Stream || w.SinceIndex != 0 || w.Path != "/w" {
		t.Errorf("watch %+v", w)
	}
	sink <- &actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7}
	got, err := io.ReadAll(body)
	if err != nil || string(got) != eventJSON(8) {
		t.Fatalf("body %q, %v", got, err)
	}
	if u := unwatches(h.hub); len(u) != 0 {
		t.Errorf("a delivered one-shot was unwatched: %v", u)
	}
}

func TestWatchEndsEmptyAtMaxWait(t *testing.T) {
	h := newHarness(t, withMaxWait(50*time.Millisecond))
	_, resp, body := h.openWatch("/v2/keys/w?wait=true&recursive=true")
	got, err := io.ReadAll(body)
	if err != nil || len(got) != 0 || resp.StatusCode != 200 {
		t.Fatalf("status %d body %q err %v", resp.StatusCode, got, err)
	}
	w, _ := h.sink(1)
	h.waitFor("unwatch", func() bool { u := unwatches(h.hub); return len(u) == 1 && u[0] == w.ID })
}

func TestWatchStream(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Minute))
	_, resp, body := h.openWatch("/v2/keys/w?wait=true&stream=true")
	if resp.StatusCode != 200 || resp.Header.Get("X-Etcd-Index") != "7" {
		t.Fatalf("headers %d %v", resp.StatusCode, resp.Header)
	}
	w, sink := h.sink(1)
	if !w.Stream || cap(sink) != streamBuffer {
		t.Errorf("stream watch %+v cap %d", w, cap(sink))
	}
	for i := uint64(10); i < 13; i++ {
		sink <- &actors.WatchEvent{Event: testEvent(i), EtcdIndex: 7}
		line, err := body.ReadString('\n')
		if err != nil || line != eventJSON(i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
	}
	// The hub ends the stream (it fell behind the history): etcd closes it.
	sink <- &actors.WatchEvent{Err: actors.NewError(actors.EcodeEventIndexCleared, "x", 1), EtcdIndex: 7}
	rest, err := io.ReadAll(body)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the end: %q %v", rest, err)
	}
	h.waitFor("unwatch", func() bool { return len(unwatches(h.hub)) == 1 })
}

func TestWatchStreamStartsFromHistory(t *testing.T) {
	h := newHarness(t, withMaxWait(50*time.Millisecond), withWatch(func(w *actors.Watch) {
		w.Sink <- ack(30)
		w.Sink <- &actors.WatchEvent{Event: testEvent(3), EtcdIndex: 30}
		w.Sink <- &actors.WatchEvent{Event: testEvent(4), EtcdIndex: 30}
	}))
	_, resp, body := h.openWatch("/v2/keys/w?wait=true&stream=true&waitIndex=3")
	if resp.Header.Get("X-Etcd-Index") != "30" {
		t.Errorf("X-Etcd-Index %q, want the hub's 30", resp.Header.Get("X-Etcd-Index"))
	}
	got, err := io.ReadAll(body)
	if err != nil || string(got) != eventJSON(3)+eventJSON(4) {
		t.Fatalf("stream %q %v", got, err)
	}
	h.waitFor("unwatch", func() bool { return len(unwatches(h.hub)) == 1 })
}

func TestWatchClientGoneMidStream(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Minute))
	conn, _, _ := h.openWatch("/v2/keys/w?wait=true&stream=true")
	_, sink := h.sink(1)
	conn.Close()
	// Writes to a closed connection fail after at most a few attempts.
	for i := uint64(1); len(unwatches(h.hub)) == 0; i++ {
		if i > 200 {
			t.Fatal("the stream kept writing to a closed connection")
		}
		select {
		case sink <- &actors.WatchEvent{Event: testEvent(i), EtcdIndex: 7}:
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestShutdownEndsWatches(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Hour))
	_, _, body := h.openWatch("/v2/keys/w?wait=true")
	h.sink(1)
	done := make(chan error, 1)
	go func() { done <- h.srv.Shutdown() }()
	got, err := io.ReadAll(body)
	if err != nil || len(got) != 0 {
		t.Errorf("body %q, %v", got, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown waits for the long poll")
	}
	h.waitFor("unwatch", func() bool { return len(unwatches(h.hub)) == 1 })
}

func TestWatchHubSilentTimesOut(t *testing.T) {
	h := newHarness(t, withTimeout(50*time.Millisecond), silentHub())
	r := h.get("/v2/keys/w?wait=true")
	expect(t, "silent hub", r, 500,
		`{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: request timed out","index":0}`+"\n", nil)
	h.waitFor("unwatch", func() bool { return len(unwatches(h.hub)) == 1 })
}
