package httpfront

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestServeSeveralListenersAndShutdown(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ln) }()
	second := &harness{t: t, addr: ln.Addr().String()}
	expect(t, "second listener", second.get("/version"), 200, versionBody, nil)
	if err := h.srv.Shutdown(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}

func TestServeAfterShutdown(t *testing.T) {
	s := New(Config{Self: testSelf, Log: zerolog.Nop()})
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve after Shutdown kept serving")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener is still open")
	}
}

func TestHugeHeaders(t *testing.T) {
	h := newHarness(t)
	r := h.do("GET", "/v2/keys/a", map[string]string{"X-Big": strings.Repeat("x", 10<<10)}, "")
	expect(t, "huge header", r, 431, "431 Request Header Fields Too Large", map[string]string{"Connection": "close"})
}
