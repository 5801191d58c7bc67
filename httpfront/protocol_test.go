package httpfront

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// rawExchange writes req as it is and returns everything the server sends
// back until it closes the connection or goes quiet for a moment.
func rawExchange(h *harness, req string) string {
	h.t.Helper()
	conn := h.dial()
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		h.t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	b, _ := io.ReadAll(conn)
	return string(b)
}

// net/http answers in the request's version; fasthttp would say HTTP/1.1.
func TestHTTP10StatusLine(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ req, line string }{
		{"GET /version HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
		{"GET /nowhere HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"},
		{"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
	} {
		if got := rawExchange(h, tc.req); !strings.HasPrefix(got, tc.line) {
			t.Errorf("%q: answered %q", tc.req, got)
		}
	}
	// The version is per request, not left behind on a kept-alive
	// connection's next answer.
	got := rawExchange(h, "GET /version HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if first, second, _ := strings.Cut(got, "\r\n\r\n"); !strings.HasPrefix(first, "HTTP/1.0 200 OK\r\n") || !strings.Contains(second, "HTTP/1.1 200 OK\r\n") {
		t.Errorf("keep-alive pair answered %q", got)
	}
}

// An Expect other than 100-continue: 417 with no body and the connection
// closed, before the request is looked at (net/http's sendExpectationFailed).
func TestExpectationFailed(t *testing.T) {
	h := newHarness(t)
	r := h.do("PUT", "/v2/keys/a", map[string]string{"Expect": "something", "Content-Type": "application/x-www-form-urlencoded"}, "value=1")
	expect(t, "expect", r, 417, "", map[string]string{"Connection": "close", "Content-Type": "", "X-Etcd-Cluster-Id": ""})
	if len(h.proposals()) != 0 {
		t.Errorf("the write was proposed: %v", h.proposals())
	}
	got := rawExchange(h, "PUT /v2/keys/a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nvalue=1")
	if !strings.HasPrefix(got, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n") {
		t.Errorf("100-continue: answered %q", got)
	}
}

// A Transfer-Encoding other than chunked: 501, as net/http answers it.
func TestUnsupportedTransferEncoding(t *testing.T) {
	h := newHarness(t)
	for _, te := range []string{"Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "transfer-encoding: Identity\r\n", "Transfer-Encoding: gzip\r\n", "Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"} {
		got := rawExchange(h, "PUT /v2/keys/a HTTP/1.1\r\nHost: x\r\n"+te+"Content-Type: application/x-www-form-urlencoded\r\n\r\n0\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 501 Not Implemented\r\n") || !strings.HasSuffix(got, "\r\n\r\nUnsupported transfer encoding") ||
			!strings.Contains(got, "Connection: close\r\n") || !strings.Contains(got, "Content-Type: text/plain; charset=utf-8\r\n") {
			t.Errorf("%q: answered %q", te, got)
		}
	}
	if len(h.proposals()) != 0 {
		t.Errorf("a write was proposed: %v", h.proposals())
	}
}

// getsFail counts what etcd counts: the tree's failed gets, plus one for
// every keys request etcd's v2 auth admits (it reads /2/enabled, which is
// not there) and every membership change; not for requests refused before.
func TestGetsFailCountsAuthProbes(t *testing.T) {
	h := newHarness(t, withStats(actors.StoreStats{GetFail: 5}, 0))
	for _, rq := range []struct{ method, target, body string }{
		{"GET", "/v2/keys/a", ""},                       // +1
		{"GET", "/v2/keys/a?wait=true&waitIndex=1", ""}, // +1: a watch
		{"PUT", "/v2/keys/a", "value=1"},                // +1
		{"DELETE", "/v2/keys/a", ""},                    // +1
		{"PUT", "/v2/keys/a?ttl=abc", "value=1"},        // refused by parsing: 0
		{"PATCH", "/v2/keys/a", ""},                     // refused by method: 0
		{"GET", "/v2/keys/a//b", ""},                    // redirected: 0
		{"GET", "/v2/members", ""},                      // 0
		{"GET", "/v2/stats/self", ""},                   // 0
		{"POST", "/v2/members", "x"},                    // +1
	} {
		h.do(rq.method, rq.target, formHdr, rq.body)
	}
	r := h.get("/v2/stats/store")
	if !strings.Contains(r.body, `"getsFail":10,`) {
		t.Errorf("store stats %s", r.body)
	}
}
