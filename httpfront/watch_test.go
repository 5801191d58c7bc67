package httpfront

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront/internal/wiretest"
)

func testEvent(i uint64) *actors.Event { return wiretest.Event(i) }

func eventJSON(i uint64) string { return wiretest.EventJSON(i, testNow) }

// openWatch sends a watch request and returns once its headers arrived.
func (h *harness) openWatch(target string) (net.Conn, *http.Response, *bufio.Reader) {
	h.t.Helper()
	conn := h.dial()
	resp, err := roundTrip(conn, "GET", target, nil, "")
	if err != nil {
		h.t.Fatalf("watch %s: %v", target, err)
	}
	return conn, resp, bufio.NewReader(resp.Body)
}

func TestWatchAnsweredFromHistory(t *testing.T) {
	h := newHarness(t, withWatch(func(w *actors.Watch) {
		w.Sink.Deliver(ack(20))
		w.Sink.Deliver(&actors.WatchEvent{Event: testEvent(5), EtcdIndex: 20, HistoryStart: 1})
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
		w.Sink.Deliver(&actors.WatchEvent{Err: e, EtcdIndex: 2007, HistoryStart: 1008})
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
	if !sink.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7}) {
		t.Fatal("the parked watch refused its event")
	}
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
	if !w.Stream {
		t.Errorf("stream watch %+v", w)
	}
	for i := uint64(10); i < 13; i++ {
		if !sink.Deliver(&actors.WatchEvent{Event: testEvent(i), EtcdIndex: 7}) {
			t.Fatalf("event %d refused", i)
		}
		line, err := body.ReadString('\n')
		if err != nil || line != eventJSON(i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
	}
	// The hub ends the stream (it fell behind the history): etcd closes it.
	sink.Deliver(&actors.WatchEvent{Err: actors.NewError(actors.EcodeEventIndexCleared, "x", 1), EtcdIndex: 7})
	rest, err := io.ReadAll(body)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the end: %q %v", rest, err)
	}
	h.waitFor("unwatch", func() bool { return len(unwatches(h.hub)) == 1 })
}

func TestWatchStreamStartsFromHistory(t *testing.T) {
	h := newHarness(t, withMaxWait(50*time.Millisecond), withWatch(func(w *actors.Watch) {
		w.Sink.Deliver(ack(30))
		w.Sink.Deliver(&actors.WatchEvent{Event: testEvent(3), EtcdIndex: 30})
		w.Sink.Deliver(&actors.WatchEvent{Event: testEvent(4), EtcdIndex: 30})
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
		sink.Deliver(&actors.WatchEvent{Event: testEvent(i), EtcdIndex: 7})
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

// rawWatch sends a watch on its own connection and reads the status line and
// headers, leaving the body to the caller.
func (h *harness) rawWatch(target string) (net.Conn, *bufio.Reader, *http.Response) {
	h.t.Helper()
	return wiretest.RawWatch(h.t, h.addr, target)
}

func TestParkedOneShotExactAnswer(t *testing.T) {
	h := newHarness(t)
	conn, br, resp := h.rawWatch("/v2/keys/w?wait=true")
	want := map[string]string{
		"Content-Type": appJSON, "X-Etcd-Index": "7", "X-Raft-Index": "9", "X-Raft-Term": "2",
		"X-Etcd-History-Start": "1", "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd",
		"Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Headers": "accept, content-type, authorization",
	}
	if resp.StatusCode != 200 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.ContentLength != -1 {
		t.Fatalf("status %d, transfer encoding %v, length %d", resp.StatusCode, resp.TransferEncoding, resp.ContentLength)
	}
	if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
		t.Errorf("Date %q: %v", resp.Header.Get("Date"), err)
	}
	for k, v := range want {
		if got := resp.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if len(resp.Header) != len(want)+1 { // and Date
		t.Errorf("headers %v, want exactly %v and Date", resp.Header, want)
	}
	_, sink := h.sink(1)
	if !sink.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7}) {
		t.Fatal("event refused")
	}
	// The body on the wire: one chunk holding the event, then the last chunk.
	ev := eventJSON(8)
	wire := strconv.FormatInt(int64(len(ev)), 16) + "\r\n" + ev + "\r\n0\r\n\r\n"
	got := make([]byte, len(wire))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != wire {
		t.Fatalf("body on the wire %q, %v; want %q", got, err, wire)
	}
	h.waitFor("the watch to leave the lot", func() bool { return h.srv.park.Parked() == 0 })

	// Keep-alive: the same connection serves the next requests, a plain
	// read and then another watch.
	if _, err := io.WriteString(conn, "GET /v2/keys/a HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r2, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("second request on the connection: %v", err)
	}
	b2, err := io.ReadAll(r2.Body)
	if err != nil || r2.StatusCode != 404 || string(b2) != `{"errorCode":100,"message":"Key not found","cause":"/a","index":7}`+"\n" {
		t.Fatalf("second answer %d %q %v", r2.StatusCode, b2, err)
	}
	if _, err := io.WriteString(conn, "GET /v2/keys/w?wait=true&waitIndex=9 HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r3, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil || r3.StatusCode != 200 {
		t.Fatalf("third request on the connection: %v", err)
	}
	w3, sink3 := h.sink(2)
	if w3.SinceIndex != 9 {
		t.Errorf("second watch %+v", w3)
	}
	sink3.Deliver(&actors.WatchEvent{Event: testEvent(9), EtcdIndex: 7})
	b3, err := io.ReadAll(r3.Body)
	if err != nil || string(b3) != eventJSON(9) {
		t.Fatalf("second watch's body %q %v", b3, err)
	}
	if u := unwatches(h.hub); len(u) != 0 {
		t.Errorf("answered one-shots were unwatched: %v", u)
	}
}

func TestParkedOneShotHTTP10(t *testing.T) {
	h := newHarness(t)
	conn := h.dial()
	if _, err := io.WriteString(conn, "GET /v2/keys/w?wait=true HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_, sink := h.sink(1)
	// The headers go out when the watch parks; only then does the event come,
	// so the answer is the parked one (an event already waiting would be
	// answered whole, with a Content-Length).
	r := bufio.NewReader(conn)
	var head strings.Builder
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("headers %q: %v", head.String(), err)
		}
		head.WriteString(line)
	}
	sink.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7})
	body, err := io.ReadAll(r) // the body ends with the connection
	if err != nil {
		t.Fatal(err)
	}
	h10 := head.String()
	if !strings.HasPrefix(h10, "HTTP/1.0 200 OK\r\n") || !strings.Contains(h10, "\r\nConnection: close") ||
		strings.Contains(h10, "Transfer-Encoding") || strings.Contains(h10, "Content-Length") || string(body) != eventJSON(8) {
		t.Fatalf("answer %q %q", h10, body)
	}
}

func TestParkedStreamSlowClient(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Minute))
	conn, _, resp := h.rawWatch("/v2/keys/w?wait=true&stream=true")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_, sink := h.sink(1)
	// Events far larger than the socket buffers: the client cannot take
	// them at once, so writes go the slow way, in order.
	big := strings.Repeat("x", 256<<10)
	const n = 24
	evs := make([]*actors.Event, n)
	for i := range evs {
		evs[i] = &actors.Event{Action: actors.ActionSet, Index: uint64(100 + i),
			Node: &actors.Node{Key: "/w", Value: big + itoa(i), ModifiedIndex: uint64(100 + i), CreatedIndex: uint64(100 + i)}}
	}
	delivered := make(chan int, 1)
	go func() {
		// The hub's way: a refused delivery is tried again later.
		i := 0
		for tries := 0; i < n && tries < 100000; tries++ {
			if sink.Deliver(&actors.WatchEvent{Event: evs[i], EtcdIndex: 7}) {
				i++
			} else {
				time.Sleep(time.Millisecond)
			}
		}
		delivered <- i
	}()
	time.Sleep(50 * time.Millisecond) // let the writes back up
	if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	body := bufio.NewReader(resp.Body)
	for i, ev := range evs {
		line, err := body.ReadString('\n')
		if err != nil || line != string(ev.AppendJSON(nil, ev.At, false)) {
			t.Fatalf("event %d: %d bytes, %v", i, len(line), err)
		}
	}
	if got := <-delivered; got != n {
		t.Fatalf("delivered %d of %d", got, n)
	}
}

func TestParkedClientGoneEndsAtMaxWait(t *testing.T) {
	h := newHarness(t, withMaxWait(100*time.Millisecond))
	conn, _, _ := h.rawWatch("/v2/keys/w?wait=true&recursive=true")
	w, _ := h.sink(1)
	conn.Close()
	h.waitFor("unwatch", func() bool { u := unwatches(h.hub); return len(u) == 1 && u[0] == w.ID })
	if n := h.srv.park.Parked(); n != 0 {
		t.Errorf("%d watches still parked", n)
	}
}

func TestShutdownEndsParkedStreams(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Hour))
	_, _, one := h.rawWatch("/v2/keys/w?wait=true")
	_, _, stream := h.rawWatch("/v2/keys/w?wait=true&stream=true")
	w2, sink := h.sink(2)
	sink.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7})
	streamBody := bufio.NewReader(stream.Body)
	line, err := streamBody.ReadString('\n')
	if err != nil || line != eventJSON(8) {
		t.Fatalf("stream event %q %v", line, err)
	}
	l := h.srv.park
	if n := l.Parked(); n != 2 {
		t.Fatalf("%d parked, want 2", n)
	}
	if err := h.srv.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(one.Body); err != nil || len(b) != 0 {
		t.Errorf("one-shot body at shutdown %q %v", b, err)
	}
	if b, err := io.ReadAll(streamBody); err != nil || len(b) != 0 {
		t.Errorf("stream's rest at shutdown %q %v", b, err)
	}
	h.waitFor("both unwatched", func() bool { return len(unwatches(h.hub)) == 2 })
	if u := unwatches(h.hub); u[0] != w2.ID-1 && u[1] != w2.ID-1 {
		t.Errorf("unwatched %v", u)
	}
	if n := l.Parked(); n != 0 {
		t.Errorf("%d still parked", n)
	}
}

func TestParkedClientHangUpUnwatches(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Hour))
	conn, _, _ := h.rawWatch("/v2/keys/w?wait=true&recursive=true")
	w, _ := h.sink(1)
	l := h.srv.park
	h.waitFor("the watch parked", func() bool { return l.Parked() == 1 })
	conn.Close()
	// Long before the hour: etcd drops a watcher when its client goes.
	h.waitFor("unwatch", func() bool { u := unwatches(h.hub); return len(u) == 1 && u[0] == w.ID })
	if n := l.Parked(); n != 0 {
		t.Errorf("%d watches still parked", n)
	}
}

func TestParkedWatchWithRequestSentEarly(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Hour))
	conn := h.dial()
	// The next request comes with the watch, before its answer.
	if _, err := io.WriteString(conn, "GET /v2/keys/w?wait=true HTTP/1.1\r\nHost: test\r\n\r\nGET /v2/keys/b HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	r1, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil || r1.StatusCode != 200 {
		t.Fatalf("watch: %v", err)
	}
	_, sink := h.sink(1)
	l := h.srv.park
	h.waitFor("the watch parked", func() bool { return l.Parked() == 1 })
	sink.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7})
	if b, err := io.ReadAll(r1.Body); err != nil || string(b) != eventJSON(8) {
		t.Fatalf("watch body %q %v", b, err)
	}
	r2, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("the early request: %v", err)
	}
	if b, err := io.ReadAll(r2.Body); err != nil || r2.StatusCode != 404 || string(b) != `{"errorCode":100,"message":"Key not found","cause":"/b","index":7}`+"\n" {
		t.Fatalf("the early request's answer %d %q %v", r2.StatusCode, b, err)
	}
}
