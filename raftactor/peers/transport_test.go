package peers

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Two members send to each other at once; each sees the other's messages
// intact and in order.
func TestTwoWaysInOrder(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	connect(t, a, b)
	warmUp(t, a, b)
	const n = 5000
	for i := uint64(1); i <= n; i++ {
		a.tr.Send([]*raftpb.Message{msgApp(1, 2, i)})
		b.tr.Send([]*raftpb.Message{msgApp(2, 1, i)})
		if i%1000 == 0 { // stay well within the queue
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, c := range []struct {
		to   *node
		from uint64
	}{{b, 1}, {a, 2}} {
		for i := uint64(1); i <= n; i++ {
			m := c.to.recv(t, 5*time.Second)
			if want := msgApp(c.from, c.to.id, i); !proto.Equal(m, want) {
				t.Fatalf("member %x, message %d: got %v, want %v", c.to.id, i, m, want)
			}
		}
	}
}

// Three members, everyone to everyone: order holds per pair.
func TestThreeMembers(t *testing.T) {
	ns := []*node{newNode(t, 1), newNode(t, 2), newNode(t, 3)}
	connect(t, ns...)
	warmUp(t, ns...)
	const n = 2000
	for i := uint64(1); i <= n; i++ {
		for _, s := range ns {
			var batch []*raftpb.Message
			for _, r := range ns {
				if r != s {
					batch = append(batch, msgApp(s.id, r.id, i))
				}
			}
			s.tr.Send(batch)
		}
		if i%500 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, r := range ns {
		next := map[uint64]uint64{}
		for range 2 * n {
			m := r.recv(t, 5*time.Second)
			if m.GetTo() != r.id {
				t.Fatalf("member %x got a message for %x", r.id, m.GetTo())
			}
			next[m.GetFrom()]++
			if idx := m.GetEntries()[0].GetIndex(); idx != next[m.GetFrom()] {
				t.Fatalf("member %x from %x: entry %d, want %d", r.id, m.GetFrom(), idx, next[m.GetFrom()])
			}
		}
		for _, s := range ns {
			if s != r && next[s.id] != n {
				t.Fatalf("member %x got %d from %x, want %d", r.id, next[s.id], s.id, n)
			}
		}
	}
}

// A receiver that crashes and comes back on the same address gets messages
// again; meanwhile the sender reported it unreachable.
func TestReconnect(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	connect(t, a, b)
	a.tr.Send([]*raftpb.Message{msgApp(1, 2, 1)})
	b.recv(t, 5*time.Second)

	b.down()
	drain(a.unreach)
	deadline := time.Now().Add(5 * time.Second)
	for reported := false; !reported; {
		a.tr.Send([]*raftpb.Message{msgApp(1, 2, 2)})
		select {
		case id := <-a.unreach:
			reported = id == 2
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("peer 2 never reported unreachable")
		}
	}
	b.listen(t, b.addr)
	drain(b.got)
	// Messages sent while it was down may be dropped; keep sending until
	// the new stream carries them.
	for i := uint64(3); ; i++ {
		a.tr.Send([]*raftpb.Message{msgApp(1, 2, i)})
		select {
		case <-b.got:
			if a.logs.count("peer stream down") != 1 {
				t.Errorf("stream down logged %d times, want once", a.logs.count("peer stream down"))
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("no message after the peer came back")
		}
	}
}

// A peer that never exists: Send stays fast, the queue stays at its bound,
// and the peer is reported unreachable.
func TestDeadPeerBounded(t *testing.T) {
	a := newNode(t, 1, func(c *Config) { c.QueueSize = 1024 })
	if err := a.tr.AddPeer(2, []string{"http://" + deadAddr(t)}); err != nil {
		t.Fatal(err)
	}
	m := msgApp(1, 2, 7)
	batch := make([]*raftpb.Message, 100)
	for i := range batch {
		batch[i] = m
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range 1000 { // 100k messages
		a.tr.Send(batch)
	}
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if took > time.Second {
		t.Errorf("100k sends took %v", took)
	}
	p := (*a.tr.peers.Load())[2]
	if l := len(p.queue); l > 1024 {
		t.Errorf("queue holds %d, bound 1024", l)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 8<<20 {
		t.Errorf("100k sends allocated %d bytes", grown)
	}
	a.waitUnreachable(t, 2, 5*time.Second)
	if p.dropped.Load() == 0 {
		t.Error("nothing dropped")
	}
}

// A sender of another cluster is refused with 412 and a clear reason,
// logged once however often it retries; it sees the peer as unreachable.
func TestWrongCluster(t *testing.T) {
	a := newNode(t, 1, func(c *Config) { c.ClusterID = 0xbad })
	b := newNode(t, 2)
	connect(t, a, b)
	a.tr.Send([]*raftpb.Message{msgApp(1, 2, 1)})
	a.waitUnreachable(t, 2, 5*time.Second)

	req, _ := http.NewRequest(http.MethodPost, b.url()+streamPath, strings.NewReader(""))
	req.Header.Set(hdrFrom, "1")
	req.Header.Set(hdrTo, "2")
	req.Header.Set(hdrCluster, "bad")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reason := readReason(resp.Body)
	if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(reason, "cluster id mismatch") {
		t.Fatalf("got %s %q", resp.Status, reason)
	}
	time.Sleep(200 * time.Millisecond) // a's stream keeps retrying
	if c := b.logs.count("peer of another cluster refused"); c != 1 {
		t.Errorf("refusal logged %d times, want once", c)
	}
	if len(b.got) != 0 {
		t.Error("a message of another cluster was delivered")
	}
}

// A stream asked for without the upgrade is refused with 426, naming the
// protocol: an older or foreign sender learns why, and nothing is read as
// frames from a request body.
func TestStreamNeedsUpgrade(t *testing.T) {
	b := newNode(t, 2)
	req, _ := http.NewRequest(http.MethodPost, b.url()+streamPath, strings.NewReader("\x00\x00\x00\x00"))
	req.Header.Set(hdrFrom, "1")
	req.Header.Set(hdrTo, "2")
	req.Header.Set(hdrCluster, hexID(testCluster))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reason := readReason(resp.Body)
	if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Upgrade") != streamProto || !strings.Contains(reason, streamProto) {
		t.Fatalf("got %s (Upgrade %q) %q", resp.Status, resp.Header.Get("Upgrade"), reason)
	}
	if b.logs.count("inbound stream up") != 0 {
		t.Error("a stream came up without the upgrade")
	}
}

// Messages to self or to an unknown member are dropped without harm.
func TestSendToNobody(t *testing.T) {
	a := newNode(t, 1)
	a.tr.Send([]*raftpb.Message{msgApp(1, 1, 1), msgApp(1, 9, 1), {}})
	if err := a.tr.AddPeer(1, []string{"http://127.0.0.1:1"}); err == nil {
		t.Error("self accepted as a peer")
	}
	for _, u := range []string{"", "127.0.0.1:80", "https://x:1", "http://x:1/raft", "http://"} {
		if err := a.tr.AddPeer(2, []string{u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	if err := a.tr.AddPeer(2, []string{"http://127.0.0.1:1/"}); err != nil {
		t.Fatal(err)
	}
	if err := a.tr.AddPeer(2, []string{"http://127.0.0.1:1"}); err == nil {
		t.Error("a peer added twice")
	}
	if err := a.tr.UpdatePeer(3, []string{"http://127.0.0.1:1"}); err == nil {
		t.Error("an unknown peer updated")
	}
}

// Several URLs are tried in turn; UpdatePeer moves a peer to new ones.
func TestURLsInTurnAndUpdate(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	dead := "http://" + deadAddr(t)
	if err := a.tr.AddPeer(2, []string{dead}); err != nil {
		t.Fatal(err)
	}
	a.waitUnreachable(t, 2, 5*time.Second)
	if err := a.tr.UpdatePeer(2, []string{dead, b.url()}); err != nil {
		t.Fatal(err)
	}
	sendUntilDelivered(t, a, b)
	// A change while the stream is up redials, and the stream carries on.
	if err := a.tr.UpdatePeer(2, []string{b.url(), dead}); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); a.logs.count("peer stream up") < 2; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("no new stream after the URLs changed")
		}
	}
	if a.logs.count("redialing: URLs changed") != 1 {
		t.Error("no redial logged")
	}
	sendUntilDelivered(t, a, b)
}

// sendUntilDelivered sends from a to b until one message arrives.
func sendUntilDelivered(t *testing.T, a, b *node) {
	t.Helper()
	drain(b.got)
	deadline := time.Now().Add(5 * time.Second)
	for i := uint64(1); ; i++ {
		a.tr.Send([]*raftpb.Message{msgApp(1, 2, i)})
		select {
		case <-b.got:
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing arrived")
		}
	}
}

// RemovePeer ends the peer's goroutines, and the receiver's handler for it.
func TestRemovePeerStopsGoroutines(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	settleGoroutines(t, runtime.NumGoroutine())
	base := runtime.NumGoroutine()
	connect(t, a)
	if err := a.tr.AddPeer(2, []string{b.url()}); err != nil {
		t.Fatal(err)
	}
	a.tr.Send([]*raftpb.Message{msgApp(1, 2, 1)})
	b.recv(t, 5*time.Second)
	if runtime.NumGoroutine() <= base {
		t.Fatal("no goroutine for the peer?")
	}
	a.tr.RemovePeer(2)
	a.tr.Send([]*raftpb.Message{msgApp(1, 2, 2)}) // dropped, unknown now
	settleGoroutines(t, base)
}

// Stop ends everything, including inbound streams on a server that stays up.
func TestStopLeavesNothing(t *testing.T) {
	settleGoroutines(t, runtime.NumGoroutine())
	base := runtime.NumGoroutine()
	func() {
		ns := []*node{newNode(t, 1), newNode(t, 2), newNode(t, 3)}
		connect(t, ns...)
		for _, s := range ns {
			for _, r := range ns {
				if r != s {
					s.tr.Send([]*raftpb.Message{msgApp(s.id, r.id, 1)})
				}
			}
		}
		for _, r := range ns {
			r.recv(t, 5*time.Second)
			r.recv(t, 5*time.Second)
		}
		// Node 3 keeps serving while its transport stops: its handlers
		// must end by themselves.
		done := make(chan struct{})
		go func() {
			ns[2].tr.Stop()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Stop hung")
		}
		for _, n := range ns {
			n.tr.Stop()
			n.down()
		}
	}()
	settleGoroutines(t, base)
}

// deadAddr is a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	ln := listenLoopback(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func drain[T any](c chan T) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func resetLogs(n *node) *syncBuffer {
	n.logs.mu.Lock()
	n.logs.b.Reset()
	n.logs.mu.Unlock()
	return n.logs
}
