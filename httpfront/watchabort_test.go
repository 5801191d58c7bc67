package httpfront

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/etcdv2/server/actors"
)

// noLeaderJSON is etcd's error body for a member without a leader at index.
func noLeaderJSON(index uint64) string {
	return `{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: no leader","index":` +
		strconv.FormatUint(index, 10) + "}\n"
}

// A parked long poll whose member lost its leader ends with the error's JSON
// as its last chunk and the connection closed without the body's end: on the
// wire exactly that, and for Go's HTTP client the body then io.ErrUnexpectedEOF
// (so etcd's Go client goes to the next member instead of reading an event).
func TestParkedWatchAbortsWithNoLeader(t *testing.T) {
	h := newHarness(t)
	_, br, resp := h.rawWatch("/v2/keys/w?wait=true")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_, sink := h.sink(1)
	h.waitFor("the watch parked", func() bool { return h.srv.park.Parked() == 1 })
	if !sink.Deliver(&actors.WatchEvent{Err: actors.NoLeaderError(7), EtcdIndex: 7}) {
		t.Fatal("error refused")
	}
	j := noLeaderJSON(7)
	want := strconv.FormatInt(int64(len(j)), 16) + "\r\n" + j + "\r\n"
	got, err := io.ReadAll(br) // up to the connection's end
	if err != nil || string(got) != want {
		t.Fatalf("wire %q %v, want %q and the connection closed", got, err, want)
	}
	h.waitFor("the watch to leave the lot", func() bool { return h.srv.park.Parked() == 0 })

	c := &http.Client{}
	r, err := c.Get("http://" + h.addr + "/v2/keys/w?wait=true")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("second watch %v", err)
	}
	_, sink2 := h.sink(2)
	sink2.Deliver(&actors.WatchEvent{Err: actors.NoLeaderError(7), EtcdIndex: 7})
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != j {
		t.Fatalf("Go client read %q, %v; want %q and io.ErrUnexpectedEOF", b, err, j)
	}
}

// A stream gets its events, then the error as the last piece, cut short the
// same way.
func TestParkedStreamAbortsAfterItsEvents(t *testing.T) {
	h := newHarness(t)
	r, err := http.Get("http://" + h.addr + "/v2/keys/w?wait=true&stream=true")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("stream %v", err)
	}
	defer r.Body.Close()
	_, sink := h.sink(1)
	sink.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7})
	sink.Deliver(&actors.WatchEvent{Err: actors.NoLeaderError(8), EtcdIndex: 8})
	b, err := io.ReadAll(r.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != eventJSON(8)+noLeaderJSON(8) {
		t.Fatalf("stream read %q, %v", b, err)
	}
	h.waitFor("the stream to leave the lot", func() bool { return h.srv.park.Parked() == 0 })
}

// An HTTP/1.0 long poll, whose body ends with the connection, is the error's
// JSON.
func TestParkedWatchAbortHTTP10(t *testing.T) {
	h := newHarness(t)
	conn := h.dial()
	if _, err := io.WriteString(conn, "GET /v2/keys/w?wait=true HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_, sink := h.sink(1)
	br := bufio.NewReader(conn)
	var head strings.Builder
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("headers %q: %v", head.String(), err)
		}
		head.WriteString(line)
	}
	sink.Deliver(&actors.WatchEvent{Err: actors.NoLeaderError(7), EtcdIndex: 7})
	body, err := io.ReadAll(br)
	if err != nil || string(body) != noLeaderJSON(7) || !strings.HasPrefix(head.String(), "HTTP/1.0 200 OK\r\n") {
		t.Fatalf("answer %q %q %v", head.String(), body, err)
	}
}

// A watch on a member without a leader is refused at once: 500 with the
// error, as any failed request (the hub answers the registration with it).
func TestWatchRefusedWithoutLeader(t *testing.T) {
	h := newHarness(t, withWatch(func(w *actors.Watch) {
		w.Sink.Deliver(&actors.WatchEvent{Err: actors.NoLeaderError(12), EtcdIndex: 12})
	}))
	for _, q := range []string{"wait=true", "wait=true&stream=true", "wait=true&waitIndex=3&recursive=true"} {
		r := h.get("/v2/keys/w?" + q)
		expect(t, q, r, 500, noLeaderJSON(12), map[string]string{
			"Content-Type": appJSON, "X-Etcd-Index": "12", "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd",
		})
	}
	if n := h.srv.park.Parked(); n != 0 {
		t.Errorf("%d watches parked", n)
	}
}
