package connpark

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront/internal/wiretest"
)

// intakeOf returns the intake of h's listener.
func intakeOf(h *front) *intake {
	h.t.Helper()
	r, ok := h.ln.(*readyListener)
	if !ok || r.in == nil {
		h.t.Fatal("the front's listener has no intake")
	}
	return r.in
}

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r]*\r$`)

// exchange sends req on a new connection, whole or in two writes (the
// first of which the intake leaves to fasthttp, as an incomplete head), and
// returns the answer's bytes with its Date blanked.
func (h *front) exchange(req string, split bool) string {
	h.t.Helper()
	conn := h.dial()
	defer conn.Close()
	first := req
	if split {
		first = req[:10]
	}
	if _, err := io.WriteString(conn, first); err != nil {
		h.t.Fatal(err)
	}
	if split {
		time.Sleep(50 * time.Millisecond) // the poller sees the first part alone
		if _, err := io.WriteString(conn, req[10:]); err != nil {
			h.t.Fatal(err)
		}
	}
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &raw))
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		h.t.Fatalf("%q: %v", req, err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		h.t.Fatalf("%q: body: %v", req, err)
	}
	return dateLine.ReplaceAllString(raw.String(), "Date: -\r")
}

// Whatever the intake answers at once, it answers byte for byte as fasthttp
// does; only whole heads of plain HTTP/1.1 GETs mentioning wait= are its.
func TestIntakeAnswersAsFasthttp(t *testing.T) {
	h := newFront(t, Config{}, func(f *front) { f.answer = answerAtOnce })
	in := intakeOf(h)
	cases := []struct {
		req    string
		intake bool
	}{
		{"GET /v2/keys/w?wait=true&waitIndex=8 HTTP/1.1\r\nHost: t\r\n\r\n", true},
		{"GET /v2/keys/w?wait=true&waitIndex=x HTTP/1.1\r\nHost: t\r\n\r\n", true},
		{"GET /v2/keys/w?wait=maybe HTTP/1.1\r\nHost: t\r\nUser-Agent: x\r\n\r\n", true},
		{"GET /v2/keys/a/../b?wait=true HTTP/1.1\r\nHost: t\r\n\r\n", true},
		{"GET /v2/keys/a?wait=false HTTP/1.1\r\nHost: t\r\n\r\n", true},
		{"GET /v2/keys/%zz?wait=true HTTP/1.1\r\nHost: t\r\n\r\n", true},
		{"GET /v2/keys/w?wait=true&waitIndex=8 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
		{"GET /v2/keys/w?wait=true&waitIndex=8 HTTP/1.0\r\n\r\n", false},
		{"GET /v2/keys/w?wait=true&waitIndex=8 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc", false},
		{"GET /v2/keys/a HTTP/1.1\r\nHost: t\r\n\r\n", false},
	}
	for _, c := range cases {
		before := in.served.Load()
		whole := h.exchange(c.req, false)
		if got := in.served.Load() - before; got != map[bool]uint64{true: 1}[c.intake] {
			t.Errorf("%q: the intake served %d, want intake=%v", c.req, got, c.intake)
		}
		before = in.served.Load()
		split := h.exchange(c.req, true)
		if got := in.served.Load() - before; got != 0 {
			t.Errorf("%q sent in two parts: the intake served it", c.req)
		}
		if whole != split {
			t.Errorf("%q:\n whole %q\n split %q", c.req, whole, split)
		}
	}
}

// answerAtOnce answers the requests of TestIntakeAnswersAsFasthttp as
// httpfront does, none of them by parking: a target net/http cannot parse
// (400, and the connection closes), an unclean path (307 to the clean one),
// a watch whose history was cleared (401 with its index); the rest are keys
// that are not there.
func answerAtOnce(ctx *fasthttp.RequestCtx) bool {
	uri := ctx.Request.Header.RequestURI()
	switch {
	case bytes.Contains(uri, []byte("%zz")):
		ctx.Response.Reset()
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetConnectionClose()
		ctx.SetBodyString("400 Bad Request")
	case bytes.Contains(uri, []byte("/../")):
		ctx.Response.Header.Set("Location", "/v2/keys/b?wait=true")
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetStatusCode(fasthttp.StatusTemporaryRedirect)
		ctx.SetBodyString("<a href=\"/v2/keys/b?wait=true\">Temporary Redirect</a>.\n\n")
	case string(ctx.QueryArgs().Peek("wait")) == "true":
		ctx.Response.Header.Set("X-Etcd-Index", "2007")
		keyError(ctx, actors.NewError(actors.EcodeEventIndexCleared, "the requested history has been cleared [1008/8]", 2007))
	default:
		return false
	}
	return true
}

// A connection the intake served waits in the epoll set between requests:
// it serves a read (through fasthttp) and another watch (through the
// intake), with no goroutine of its own while the watches are parked.
func TestIntakeKeepsConnectionsAlive(t *testing.T) {
	h := newFront(t, Config{})
	in := intakeOf(h)
	conn, br, resp := wiretest.RawWatch(t, h.addr, "/v2/keys/w?wait=true")
	if resp.StatusCode != 200 || in.served.Load() != 1 {
		t.Fatalf("status %d, intake served %d", resp.StatusCode, in.served.Load())
	}
	h.sink(1).w.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7})
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != eventJSON(8) {
		t.Fatalf("body %q %v", b, err)
	}
	if _, err := io.WriteString(conn, "GET /v2/keys/a HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r2, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(r2.Body); err != nil || r2.StatusCode != 404 {
		t.Fatalf("read after the watch: %d %q %v", r2.StatusCode, b, err)
	}
	if _, err := io.WriteString(conn, "GET /v2/keys/w?wait=true&waitIndex=9 HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r3, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil || r3.StatusCode != 200 {
		t.Fatalf("second watch: %v", err)
	}
	// The read left the connection with fasthttp, which serves it on: the
	// second watch comes through fasthttp's hijacking.
	if n := in.served.Load(); n != 1 {
		t.Errorf("intake served %d, want 1", n)
	}
	h.sink(2).w.Deliver(&actors.WatchEvent{Event: testEvent(9), EtcdIndex: 7})
	if b, err := io.ReadAll(r3.Body); err != nil || string(b) != eventJSON(9) {
		t.Fatalf("second body %q %v", b, err)
	}
	// Back in the epoll set after a parked watch: the intake takes the next.
	if _, err := io.WriteString(conn, "GET /v2/keys/w?wait=true&waitIndex=10 HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r4, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil || r4.StatusCode != 200 {
		t.Fatalf("third watch: %v", err)
	}
	if n := in.served.Load(); n != 2 {
		t.Errorf("intake served %d, want 2", n)
	}
	w4 := h.sink(3)
	if w4.sinceIndex != 10 {
		t.Errorf("third watch %+v", w4)
	}
	w4.w.Deliver(&actors.WatchEvent{Event: testEvent(10), EtcdIndex: 7})
	if b, err := io.ReadAll(r4.Body); err != nil || string(b) != eventJSON(10) {
		t.Fatalf("third body %q %v", b, err)
	}
}

// tableOf returns h's connection table.
func tableOf(h *front) *readyListener {
	h.t.Helper()
	return intakeOf(h).r
}

// waiting counts the connections in r's table, by state.
func (r *readyListener) waiting() map[waitState]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[waitState]int{}
	for _, w := range r.conns {
		n[w.state]++
	}
	return n
}

// A request that comes while the intake's watch is parked waits in the
// socket (the epoll set only notes it) and is served once the watch is
// answered.
func TestIntakeServesRequestSentWhileParked(t *testing.T) {
	h := newFront(t, Config{MaxWait: time.Hour})
	in := intakeOf(h)
	conn, br, resp := wiretest.RawWatch(t, h.addr, "/v2/keys/w?wait=true")
	sink := h.sink(1).w
	h.waitFor("the watch parked", func() bool { return h.e.Parked() == 1 })
	if n := in.served.Load(); n != 1 {
		t.Fatalf("intake served %d", n)
	}
	if got := in.r.waiting(); got[wParked] != 1 {
		t.Fatalf("table %v, want one parked", got)
	}
	if _, err := io.WriteString(conn, "GET /v2/keys/b HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the event for those bytes comes while parked
	sink.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7})
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != eventJSON(8) {
		t.Fatalf("watch body %q %v", b, err)
	}
	r2, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("the request sent while parked: %v", err)
	}
	if b, err := io.ReadAll(r2.Body); err != nil || r2.StatusCode != 404 || string(b) != `{"errorCode":100,"message":"Key not found","cause":"/b","index":7}`+"\n" {
		t.Fatalf("its answer %d %q %v", r2.StatusCode, b, err)
	}
}

// A connection whose client hangs up while it waits for its next request
// leaves the table and is closed.
func TestTableDropsConnectionsOfClientsGone(t *testing.T) {
	h := newFront(t, Config{}, withEarly(testEvent(5)))
	r := tableOf(h)
	base := r.waiting()[wIdle]
	conn, _, resp := wiretest.RawWatch(t, h.addr, "/v2/keys/w?wait=true&waitIndex=5")
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != eventJSON(5) {
		t.Fatalf("body %q %v", b, err)
	}
	h.waitFor("the connection back in the table", func() bool { return r.waiting()[wIdle] == base+1 })
	conn.Close()
	h.waitFor("the connection out of the table", func() bool { return r.waiting()[wIdle] == base })
}

// Long polls the intake's workers cannot take (here: a hub that never
// answers holds them) go to fasthttp, and the server's other connections
// are served meanwhile.
func TestIntakeFullQueueHoldsUpNobody(t *testing.T) {
	h := newFront(t, Config{IntakeQueue: 2}, withHold(2*time.Second))
	in := intakeOf(h)
	var conns []net.Conn
	for range intakeWorkers + 2 + 3 {
		c := h.dial()
		if _, err := io.WriteString(c, "GET /v2/keys/w?wait=true HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	h.waitFor("every watch registered", func() bool { return h.registered() == len(conns) })
	if n := in.served.Load(); n > uint64(intakeWorkers+2) {
		t.Errorf("intake took %d, more than its workers and queue", n)
	}
	start := time.Now()
	status := h.get("/version")
	if status != 200 || time.Since(start) > time.Second {
		t.Errorf("/version while the watches wait: %d after %v", status, time.Since(start))
	}
	// Every watch times out as etcd's do, whoever served it.
	for _, c := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 500 || !bytes.Contains(b, []byte(`"errorCode":300`)) {
			t.Errorf("timed-out watch: %d %s", resp.StatusCode, b)
		}
	}
}

// Whatever bytes a connection starts with, the intake's checks neither
// panic nor take a request that is not one whole GET head mentioning wait=.
func FuzzIntakeHead(f *testing.F) {
	for _, s := range []string{
		"GET /v2/keys/w?wait=true HTTP/1.1\r\nHost: t\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.0\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.1\r\nHost: t\r\n",
		"GET /v2/keys\r\n\r\n",
		"PUT /v2/keys/w?wait=true HTTP/1.1\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n",
		"GET /v2/keys/w?wait=true HTTP/1.1\r\n\x00: \r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := wholeWatch(b)
		if n == 0 {
			return
		}
		if n != len(b) || !bytes.HasPrefix(b, getKeys) || !bytes.HasSuffix(b, headEnd) || bytes.Index(b, headEnd) != len(b)-len(headEnd) {
			t.Fatalf("took %q", b)
		}
		w := &intakeWorker{}
		w.br = bufio.NewReaderSize(&w.rd, intakeHead)
		if w.parse(b) {
			h := &w.ctx.Request.Header
			if !h.IsGet() || !h.IsHTTP11() || h.ConnectionClose() {
				t.Fatalf("parsed %q as one of the intake's", b)
			}
		}
	})
}

// A connection that waits in the set for a request longer than the idle
// limit is closed, as fasthttp closes its idle ones; a parked watch is not.
func TestTableClosesIdleConnections(t *testing.T) {
	h := newFront(t, Config{IdleLimit: 300 * time.Millisecond, MaxWait: time.Hour})
	idle := h.dial()
	_, _, resp := wiretest.RawWatch(t, h.addr, "/v2/keys/w?wait=true")
	if resp.StatusCode != 200 {
		t.Fatalf("watch %d", resp.StatusCode)
	}
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("idle connection: read %d, %v; want it closed", n, err)
	}
	// The watch, parked as long, still gets its event.
	h.sink(1).w.Deliver(&actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7})
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != eventJSON(8) {
		t.Fatalf("parked watch's body %q %v", b, err)
	}
}
