package httpfront

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// manyWatchers is how many long polls TestManyParkedWatchers parks. Their
// client ends live in a child process: both ends in one process would pass
// its descriptor limit.
const manyWatchers = 10000

// TestManyParkedWatchers parks manyWatchers long polls and checks that they
// hold no goroutine each, then sends one event to all of them.
func TestManyParkedWatchers(t *testing.T) {
	h := newHarness(t, withMaxWait(time.Hour))
	// A first watch starts the lot's few goroutines, which are not the
	// watchers'.
	h.srv.park.NewWatch(false).Abandon()
	runtime.GC()
	before := runtime.NumGoroutine()

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "WATCH_CLIENTS_ADDR="+h.addr, "WATCH_CLIENTS_N="+strconv.Itoa(manyWatchers))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := child.Wait(); err != nil {
			t.Errorf("client process: %v", err)
		}
	}()
	lines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	readLine := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(60 * time.Second):
			child.Process.Kill()
			t.Fatal("client process silent")
			return ""
		}
	}
	if l := readLine(); l != "attached" {
		t.Fatalf("client process: %q", l)
	}
	l := h.srv.park
	h.waitFor("every watch parked", func() bool { return l.Parked() == manyWatchers })
	// fasthttp's idle workers and the hijack goroutines ending now come and
	// go; what must not be there is a goroutine per watcher.
	h.waitFor("goroutines to settle", func() bool { return runtime.NumGoroutine()-before < 100 })

	h.mu.Lock()
	sinks := make([]actors.WatchSink, 0, len(h.sinks))
	for _, s := range h.sinks {
		sinks = append(sinks, s)
	}
	h.mu.Unlock()
	if len(sinks) != manyWatchers {
		t.Fatalf("%d watches registered", len(sinks))
	}
	we := &actors.WatchEvent{Event: testEvent(8), EtcdIndex: 7}
	for _, s := range sinks {
		if !s.Deliver(we) {
			t.Fatal("a parked watch refused its event")
		}
	}
	if _, err := io.WriteString(stdin, "read\n"); err != nil {
		t.Fatal(err)
	}
	if got, want := readLine(), "got "+strconv.Itoa(manyWatchers); got != want {
		t.Fatalf("client process: %q, want %q", got, want)
	}
	h.waitFor("the lot to empty", func() bool { return l.Parked() == 0 })
}

// TestMain runs the tests, or, in the child process of
// TestManyParkedWatchers, its watch clients.
func TestMain(m *testing.M) {
	if addr := os.Getenv("WATCH_CLIENTS_ADDR"); addr != "" {
		n, _ := strconv.Atoi(os.Getenv("WATCH_CLIENTS_N"))
		if err := watchClients(addr, n); err != nil {
			fmt.Fprintln(os.Stderr, "watch clients:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// watchClients parks n watches one after the other, says "attached", waits
// for "read", then reads every answer and says how many held the event.
func watchClients(addr string, n int) error {
	type client struct {
		c    net.Conn
		resp *http.Response
	}
	cs := make([]client, 0, n)
	defer func() {
		for _, c := range cs {
			c.c.Close()
		}
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("watcher %d: %v", i, err)
		}
		cs = append(cs, client{c: c})
		if err := c.SetDeadline(deadline); err != nil {
			return err
		}
		if _, err := io.WriteString(c, "GET /v2/keys/w?wait=true HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
			return fmt.Errorf("watcher %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), &http.Request{Method: "GET"})
		if err != nil {
			return fmt.Errorf("watcher %d: %v", i, err)
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("watcher %d: status %d", i, resp.StatusCode)
		}
		cs[i].resp = resp
	}
	fmt.Println("attached")
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "read" {
		return nil
	}
	want := eventJSON(8)
	got := 0
	for _, c := range cs {
		if b, err := io.ReadAll(c.resp.Body); err == nil && string(b) == want {
			got++
		}
	}
	fmt.Println("got", got)
	in.Scan() // until the parent closes stdin
	return nil
}
