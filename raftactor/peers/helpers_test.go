package peers

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
)

const testCluster = 0xc1

// node is a member's transport served on a loopback listener.
type node struct {
	id      uint64
	tr      *Transport
	addr    string
	srv     *http.Server
	served  chan struct{}
	got     chan *raftpb.Message
	unreach chan uint64
	snaps   chan snapStatus
	logs    *syncBuffer
	// srvTimeout is the server's Read and WriteTimeout (0: none), as a
	// member might set for its client-facing habits.
	srvTimeout time.Duration
}

type snapStatus struct {
	id uint64
	ok bool
}

// syncBuffer collects a transport's log lines for tests that look at them.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

func newNode(tb testing.TB, id uint64, tweak ...func(*Config)) *node {
	tb.Helper()
	n := &node{
		id:      id,
		got:     make(chan *raftpb.Message, 1<<16),
		unreach: make(chan uint64, 1<<10),
		snaps:   make(chan snapStatus, 16),
		logs:    &syncBuffer{},
	}
	cfg := Config{
		ID: id, ClusterID: testCluster,
		Log:     zerolog.New(n.logs).Level(zerolog.InfoLevel),
		Deliver: func(m *raftpb.Message) { n.got <- m },
		Unreachable: func(id uint64) {
			select {
			case n.unreach <- id:
			default:
			}
		},
		SnapshotStatus: func(id uint64, ok bool) { n.snaps <- snapStatus{id, ok} },
		// Short, so reconnect tests take little time.
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		UnreachableEvery: 50 * time.Millisecond,
		DialTimeout:      500 * time.Millisecond, WriteTimeout: 2 * time.Second,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	n.tr = New(cfg)
	n.listen(tb, "127.0.0.1:0")
	tb.Cleanup(n.shutdown)
	return n
}

// listen serves the node's handler on addr (port 0: any).
func (n *node) listen(tb testing.TB, addr string) {
	tb.Helper()
	ln := listenLoopback(tb, addr)
	n.addr = ln.Addr().String()
	n.srv = &http.Server{Handler: n.tr.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: n.srvTimeout, WriteTimeout: n.srvTimeout}
	n.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		srv.Serve(ln)
		close(done)
	}(n.srv, n.served)
}

// down closes the listener and every connection to it, as a crash would.
func (n *node) down() {
	n.srv.Close()
	<-n.served
	// Streams are hijacked connections, which Close leaves alone.
	n.tr.mu.Lock()
	for in := range n.tr.inAll {
		in.cancel()
	}
	n.tr.mu.Unlock()
}

func (n *node) shutdown() {
	n.tr.Stop()
	n.down()
}

func (n *node) url() string { return "http://" + n.addr }

// connect makes every node a peer of every other.
func connect(tb testing.TB, ns ...*node) {
	tb.Helper()
	for _, a := range ns {
		for _, b := range ns {
			if a != b {
				if err := a.tr.AddPeer(b.id, []string{b.url()}); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
}

// warmUp waits until every stream between ns carries messages, so a burst
// that follows is not dropped while the streams come up.
func warmUp(tb testing.TB, ns ...*node) {
	tb.Helper()
	for _, s := range ns {
		for _, r := range ns {
			if r != s {
				s.tr.Send([]*raftpb.Message{{Type: new(raftpb.MsgHeartbeat), From: new(s.id), To: new(r.id)}})
			}
		}
	}
	for _, r := range ns {
		for range len(ns) - 1 {
			if m := r.recv(tb, 10*time.Second); m.GetType() != raftpb.MsgHeartbeat {
				tb.Fatalf("member %x: warm-up got %v", r.id, m)
			}
		}
	}
}

func msgApp(from, to, index uint64) *raftpb.Message {
	return &raftpb.Message{
		Type: new(raftpb.MsgApp), From: new(from), To: new(to), Term: new(uint64(3)),
		LogTerm: new(uint64(3)), Index: new(index - 1), Commit: new(index - 1),
		Entries: []*raftpb.Entry{{Term: new(uint64(3)), Index: new(index), Data: []byte("a small v2 set command, about this long")}},
	}
}

// recv waits for the next delivered message.
func (n *node) recv(tb testing.TB, d time.Duration) *raftpb.Message {
	tb.Helper()
	select {
	case m := <-n.got:
		return m
	case <-time.After(d):
		tb.Fatalf("member %x: no message within %v", n.id, d)
		return nil
	}
}

// waitUnreachable waits for a report about id.
func (n *node) waitUnreachable(tb testing.TB, id uint64, d time.Duration) {
	tb.Helper()
	deadline := time.After(d)
	for {
		select {
		case got := <-n.unreach:
			if got == id {
				return
			}
		case <-deadline:
			tb.Fatalf("member %x: peer %x not reported unreachable within %v", n.id, id, d)
		}
	}
}

// settleGoroutines waits for the goroutine count to come down to want.
func settleGoroutines(tb testing.TB, want int) {
	tb.Helper()
	var n int
	for range 200 {
		if n = runtime.NumGoroutine(); n <= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	tb.Fatalf("%d goroutines, want at most %d:\n%s", n, want, buf[:runtime.Stack(buf, true)])
}

// listenLoopback listens on addr; for port 0, never on a port in
// 31000-33999, which this machine keeps for other uses.
func listenLoopback(tb testing.TB, addr string) net.Listener {
	tb.Helper()
	var err error
	for range 50 {
		var ln net.Listener
		// Coming back on the same port can race with the old socket
		// going away: retry a little.
		if ln, err = net.Listen("tcp", addr); err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if p := ln.Addr().(*net.TCPAddr).Port; p >= 31000 && p <= 33999 {
			ln.Close()
			continue
		}
		return ln
	}
	tb.Fatalf("listen %s: %v", addr, err)
	return nil
}

// openStream asks url for a stream as a peer would, with the given
// headers, and returns the upgraded connection (closed with the test).
func openStream(t *testing.T, url, from, to, cluster string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, _ := http.NewRequest(http.MethodPost, url+streamPath, nil)
	req.Header.Set(hdrFrom, from)
	req.Header.Set(hdrTo, to)
	req.Header.Set(hdrCluster, cluster)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", streamProto)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("stream answered %s", resp.Status)
	}
	return conn
}
