package connpark

import (
	"bufio"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// Connections that have sent nothing wait in the epoll set, not in Accept's
// caller; one that sends is handed over; Close closes the waiting ones.
func TestReadyListenerHandsOverOnlyReadableConnections(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := New(nil, Config{Log: zerolog.Nop(), IdleLimit: 5 * time.Minute}).Listen(inner)
	if _, ok := ln.(*readyListener); !ok {
		t.Fatal("no epoll listener on linux")
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()

	idle := make([]net.Conn, 5)
	for i := range idle {
		if idle[i], err = net.Dial("tcp", inner.Addr().String()); err != nil {
			t.Fatal(err)
		}
	}
	talker, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	if _, err := talker.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "GET / HTTP/1.1\r\n" {
			t.Fatalf("handed-over connection read %q %v", line, err)
		}
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the connection that spoke was not handed over")
	}
	select {
	case c := <-accepted:
		t.Fatalf("an idle connection was handed over: %v", c.RemoteAddr())
	case <-time.After(300 * time.Millisecond):
	}
	ln.Close()
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("idle connection still open after Close: %d %v", n, err)
		}
		c.Close()
	}
	if _, ok := <-accepted; ok {
		t.Fatal("Accept went on after Close")
	}
}

// Many idle connections to a serving front end cost it no goroutines.
func TestIdleConnectionsHoldNoGoroutines(t *testing.T) {
	h := newFront(t, Config{})
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, 300)
	for i := range conns {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	time.Sleep(200 * time.Millisecond)
	if grew := runtime.NumGoroutine() - before; grew > 50 {
		t.Fatalf("%d idle connections grew goroutines by %d", len(conns), grew)
	}
	// And each is served as soon as it asks.
	c := conns[len(conns)-1]
	if _, err := c.Write([]byte("GET /version HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("version on a long-idle connection: %v %v", resp, err)
	}
	resp.Body.Close()
}
