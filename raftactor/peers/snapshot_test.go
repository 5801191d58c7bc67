package peers

import (
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

func msgSnap(from, to uint64, size int) *raftpb.Message {
	data := make([]byte, size)
	r := rand.NewChaCha8([32]byte{byte(size)})
	r.Read(data)
	return &raftpb.Message{
		Type: new(raftpb.MsgSnap), From: new(from), To: new(to), Term: new(uint64(4)),
		Snapshot: &raftpb.Snapshot{
			Data: data,
			Metadata: &raftpb.SnapshotMetadata{
				Index: new(uint64(12345)), Term: new(uint64(4)),
				ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}},
			},
		},
	}
}

func (n *node) waitSnapStatus(tb testing.TB, d time.Duration) snapStatus {
	tb.Helper()
	select {
	case s := <-n.snaps:
		return s
	case <-time.After(d):
		tb.Fatalf("member %x: no snapshot status within %v", n.id, d)
		return snapStatus{}
	}
}

// A snapshot of several MB arrives intact on its own connection while the
// stream keeps working, and the sender hears it was delivered.
func TestSnapshotDelivered(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	connect(t, a, b)
	snap := msgSnap(1, 2, 24<<20+17)
	a.tr.Send([]*raftpb.Message{snap, msgApp(1, 2, 1)})
	var got *raftpb.Message
	gotApp := false
	for got == nil || !gotApp {
		m := b.recv(t, 10*time.Second)
		switch m.GetType() {
		case raftpb.MsgSnap:
			got = m
		case raftpb.MsgApp:
			gotApp = true
		}
	}
	if !proto.Equal(got, snap) {
		t.Fatalf("snapshot changed on the way: %d bytes, index %d", len(got.GetSnapshot().GetData()), got.GetSnapshot().GetMetadata().GetIndex())
	}
	if s := a.waitSnapStatus(t, 10*time.Second); s != (snapStatus{2, true}) {
		t.Fatalf("status %+v", s)
	}
	if len(snap.GetSnapshot().GetData()) != 24<<20+17 {
		t.Fatal("the sender's message was modified")
	}
}

// The sender's status waits for the receiver's Deliver to return.
func TestSnapshotAckAfterDeliver(t *testing.T) {
	release := make(chan struct{})
	a := newNode(t, 1)
	b := newNode(t, 2, func(c *Config) {
		deliver := c.Deliver
		c.Deliver = func(m *raftpb.Message) {
			if m.GetType() == raftpb.MsgSnap {
				<-release
			}
			deliver(m)
		}
	})
	connect(t, a, b)
	a.tr.Send([]*raftpb.Message{msgSnap(1, 2, 1<<20)})
	select {
	case s := <-a.snaps:
		t.Fatalf("status %+v before the receiver delivered", s)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if s := a.waitSnapStatus(t, 5*time.Second); s != (snapStatus{2, true}) {
		t.Fatalf("status %+v", s)
	}
}

// A snapshot for a peer that is not there fails, and says so.
func TestSnapshotToDeadPeer(t *testing.T) {
	a := newNode(t, 1)
	if err := a.tr.AddPeer(2, []string{"http://" + deadAddr(t), "http://" + deadAddr(t)}); err != nil {
		t.Fatal(err)
	}
	a.tr.Send([]*raftpb.Message{msgSnap(1, 2, 4<<20)})
	if s := a.waitSnapStatus(t, 5*time.Second); s != (snapStatus{2, false}) {
		t.Fatalf("status %+v", s)
	}
}

// A receiver of another cluster refuses a snapshot too.
func TestSnapshotWrongCluster(t *testing.T) {
	a := newNode(t, 1, func(c *Config) { c.ClusterID = 0xbad })
	b := newNode(t, 2)
	connect(t, a, b)
	a.tr.Send([]*raftpb.Message{msgSnap(1, 2, 1<<10)})
	if s := a.waitSnapStatus(t, 5*time.Second); s != (snapStatus{2, false}) {
		t.Fatalf("status %+v", s)
	}
	if len(b.got) != 0 {
		t.Fatal("delivered across clusters")
	}
}

// stuckPeer accepts connections and never reads from them: a peer whose
// process hangs. It returns the URL and closes everything at the end.
func stuckPeer(t *testing.T) string {
	ln := listenLoopback(t, "127.0.0.1:0")
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	return "http://" + ln.Addr().String()
}

// A snapshot that stops making progress fails after WriteTimeout, and the
// stream to that peer does not wait for its answer forever either.
func TestSnapshotStalled(t *testing.T) {
	a := newNode(t, 1, func(c *Config) { c.WriteTimeout = 300 * time.Millisecond })
	if err := a.tr.AddPeer(2, []string{stuckPeer(t)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a.tr.Send([]*raftpb.Message{msgSnap(1, 2, 32<<20)}) // beyond the socket buffers
	if s := a.waitSnapStatus(t, 5*time.Second); s != (snapStatus{2, false}) {
		t.Fatalf("status %+v", s)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a stalled snapshot failed after %v", took)
	}
	a.waitUnreachable(t, 2, 5*time.Second)
}

// Stop does not wait for a snapshot in flight to a stuck peer.
func TestStopDuringSnapshot(t *testing.T) {
	a := newNode(t, 1, func(c *Config) { c.WriteTimeout = time.Minute })
	if err := a.tr.AddPeer(2, []string{stuckPeer(t)}); err != nil {
		t.Fatal(err)
	}
	a.tr.Send([]*raftpb.Message{msgSnap(1, 2, 32<<20)})
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	a.tr.Stop()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Stop took %v", took)
	}
}
