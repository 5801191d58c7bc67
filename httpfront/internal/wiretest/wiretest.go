// Package wiretest is what the tests of httpfront and of its connection
// engine share: a client's end of the wire, and the events their watches
// carry. The two packages test one server from two sides, so they must
// speak to it alike.
package wiretest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// Dial connects to addr, with a deadline for the whole test's exchange; the
// connection closes with the test.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// RawWatch sends a watch on its own connection and reads the status line
// and headers, leaving the body to the caller.
func RawWatch(t testing.TB, addr, target string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn := Dial(t, addr)
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("watch %s: %v", target, err)
	}
	return conn, br, resp
}

// WaitFor polls cond for up to 5 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Event is the i-th set of /w.
func Event(i uint64) *actors.Event {
	return &actors.Event{Action: actors.ActionSet, Index: i, Node: &actors.Node{Key: "/w", Value: "v" + strconv.FormatUint(i, 10), ModifiedIndex: i, CreatedIndex: i}}
}

// EventJSON is Event(i) as a watch's body carries it, at the clock's now.
func EventJSON(i uint64, now int64) string { return string(Event(i).AppendJSON(nil, now, false)) }
