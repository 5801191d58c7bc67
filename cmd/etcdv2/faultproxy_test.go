package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// A partition has to be real to mean anything: the members must see their
// connections break and their redials go unanswered, as on a network, with
// no help from the server. So every member of a faulty test cluster
// advertises a peer URL that is a TCP proxy in this file, and the proxy
// forwards to the member's real peer listener unless the network says the
// link is cut.
//
// The peer transport sends one HTTP/1.1 request per TCP connection (a
// never-ending POST /raft/stream, or a POST /raft/snapshot), each carrying
// X-Raft-From and X-Raft-To. The proxy reads the request's head to learn
// both ends before it forwards a byte; a member is cut off in both
// directions by dropping, in every proxy, the connections it sends and all
// connections to it.

// faultNet is the network between the members of one test cluster: the
// proxies in front of their peer listeners and the set of members cut off.
type faultNet struct {
	mu       sync.Mutex
	isolated map[string]bool // hex member ids cut off from every other member
	conns    map[*proxyConn]struct{}
	refused  int            // connections closed because their head was not a raft request
	cuts     int            // connections closed by isolate
	targets  map[int]string // proxy port -> the member's real peer listener
}

type proxyConn struct {
	from, to         string
	client, upstream net.Conn // upstream nil while blackholed
}

func (c *proxyConn) close() {
	c.client.Close()
	if c.upstream != nil {
		c.upstream.Close()
	}
}

func newFaultNet() *faultNet {
	return &faultNet{isolated: map[string]bool{}, conns: map[*proxyConn]struct{}{}, targets: map[int]string{}}
}

// blocked says whether a connection from → to may not carry anything now.
// Called with n.mu held.
func (n *faultNet) blocked(from, to string) bool {
	if from == "" && to == "" {
		return len(n.isolated) > 0
	}
	return n.isolated[from] || n.isolated[to]
}

// isolate cuts each member off from all others: its open connections, both
// ways, are closed; new ones are accepted and then blackholed (never
// forwarded, never answered) until heal.
func (n *faultNet) isolate(ids ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		n.isolated[id] = true
	}
	for c := range n.conns {
		if c.upstream != nil && n.blocked(c.from, c.to) {
			c.close()
			delete(n.conns, c)
			n.cuts++
		}
	}
}

// heal joins everybody again. The blackholed connections are closed, so
// their senders redial now rather than when their own timeouts fire.
func (n *faultNet) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.isolated)
	for c := range n.conns {
		if c.upstream == nil {
			c.close()
			delete(n.conns, c)
		}
	}
}

// proxy listens on a fresh loopback port and forwards to target (a
// member's real peer listener) through n. It stops when the test ends.
// The returned port is the one to advertise.
func (n *faultNet) proxy(t *testing.T, target string) int {
	t.Helper()
	ln := listenFresh(t) // not a port a member was handed and has not bound yet
	port := ln.Addr().(*net.TCPAddr).Port
	n.retarget(port, target)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by the cleanup
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.serve(c, port)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		n.mu.Lock()
		for c := range n.conns {
			c.close()
			delete(n.conns, c)
		}
		n.mu.Unlock()
		wg.Wait()
	})
	return port
}

// retarget makes the proxy on port forward to target from now on (a member
// that had to move its peer listener: see member.start).
func (n *faultNet) retarget(port int, target string) {
	n.mu.Lock()
	n.targets[port] = target
	n.mu.Unlock()
}

// maxHead bounds what the proxy reads before it knows who is talking.
const maxHead = 16 << 10

func (n *faultNet) serve(c net.Conn, port int) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, maxHead)
	head, from, to, ok := readHead(br)
	if !ok {
		n.mu.Lock()
		n.refused++
		n.mu.Unlock()
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	pc := &proxyConn{from: from, to: to, client: c}
	n.mu.Lock()
	if n.blocked(from, to) {
		// Blackholed: read and drop whatever comes, until heal or the
		// sender gives up. The proxy holds both registration and reads.
		n.conns[pc] = struct{}{}
		n.mu.Unlock()
		io.Copy(io.Discard, br)
		n.forget(pc)
		return
	}
	target := n.targets[port]
	n.mu.Unlock()
	up, err := net.DialTimeout("tcp", target, time.Second)
	if err != nil {
		c.Close() // the member is down: the sender sees the connection end
		return
	}
	n.mu.Lock()
	if n.blocked(from, to) { // cut while dialing
		n.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	pc.upstream = up
	n.conns[pc] = struct{}{}
	n.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() {
		if _, err := up.Write(head); err == nil {
			io.Copy(up, br)
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(c, up)
		done <- struct{}{}
	}()
	<-done
	pc.close()
	<-done
	n.forget(pc)
}

func (n *faultNet) forget(pc *proxyConn) {
	n.mu.Lock()
	delete(n.conns, pc)
	n.mu.Unlock()
	pc.close()
}

// readHead reads an HTTP/1.1 request's head (through the empty line) and
// returns its bytes with the raft sender and receiver it names.
func readHead(br *bufio.Reader) (head []byte, from, to string, ok bool) {
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err != nil || len(head) > maxHead {
			return nil, "", "", false
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return nil, "", "", false
	}
	from, to = req.Header.Get("X-Raft-From"), req.Header.Get("X-Raft-To")
	if req.Method == http.MethodGet && req.URL.Path == "/members" {
		// A member asking another who is in the cluster (at start): it
		// names neither end, and goes through unless the network is cut.
		return head, "", "", true
	}
	return head, from, to, from != "" && to != ""
}

// open is how many connections the proxies hold now.
func (n *faultNet) open() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// counts reports what the network did, for the test log.
func (n *faultNet) counts() (cuts, refused int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cuts, n.refused
}

// The proxy itself: it forwards, cuts open streams of an isolated member in
// both directions, blackholes new ones until heal, and leaves others alone.
func TestFaultProxy(t *testing.T) {
	streams := make(chan struct{}, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/raft/stream" {
			http.NewResponseController(w).EnableFullDuplex()
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
			streams <- struct{}{}
			io.Copy(io.Discard, r.Body) // until the connection ends
			return
		}
		io.WriteString(w, "ok "+r.Header.Get("X-Raft-From"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	n := newFaultNet()
	base := "http://127.0.0.1:" + itoa(n.proxy(t, ln.Addr().String()))
	// A request that must fail waits for a short timeout (a blackholed one
	// is never answered); one that must go through may take longer on a
	// busy machine.
	quick := &http.Client{Timeout: 400 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	patient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	try := func(c *http.Client, from, to string) error {
		req, _ := http.NewRequest("POST", base+"/raft/snapshot", nil)
		if from != "" {
			req.Header.Set("X-Raft-From", from)
			req.Header.Set("X-Raft-To", to)
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && string(b) != "ok "+from {
			t.Fatalf("forwarded answer %q", b)
		}
		return err
	}
	send := func(from, to string) error { return try(patient, from, to) }
	sendBlocked := func(from, to string) error { return try(quick, from, to) }
	if err := send("a", "b"); err != nil {
		t.Fatalf("a→b before any cut: %v", err)
	}
	if err := sendBlocked("", ""); err == nil {
		t.Fatal("a request without raft headers was forwarded")
	}
	// A long-lived stream a→b, as the transport keeps.
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", base+"/raft/stream", pr)
	req.Header.Set("X-Raft-From", "a")
	req.Header.Set("X-Raft-To", "b")
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-streams
	ended := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); close(ended) }()
	// The first a→b request was answered, but its proxy lets go of the
	// connection only once both of its copying goroutines have seen it
	// end; on a busy machine that can come after the stream is up, and
	// isolate would cut it too. Isolate when the stream is all there is.
	for deadline := time.Now().Add(5 * time.Second); n.open() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the proxy holds %d connections, want the stream alone", n.open())
		}
	}

	n.isolate("a")
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("an open stream of the isolated member was not cut")
	}
	if err := sendBlocked("a", "b"); err == nil {
		t.Fatal("a→b answered while a is isolated")
	}
	if err := sendBlocked("c", "a"); err == nil {
		t.Fatal("c→a answered while a is isolated")
	}
	if err := send("c", "b"); err != nil {
		t.Fatalf("c→b while only a is isolated: %v", err)
	}
	n.heal()
	if err := send("a", "b"); err != nil {
		t.Fatalf("a→b after heal: %v", err)
	}
	if cuts, refused := n.counts(); cuts != 1 || refused != 1 {
		t.Fatalf("cuts %d, refused %d; want 1 and 1", cuts, refused)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
