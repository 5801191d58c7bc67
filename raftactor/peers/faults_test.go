package peers

import (
	"net"
	"net/http"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// A malformed frame closes that stream and is logged; a message for another
// member is dropped; the stream is still usable before the bad frame.
func TestMalformedInput(t *testing.T) {
	b := newNode(t, 2)
	good, _ := appendFrame(nil, msgApp(1, 2, 1), 1<<20)
	other, _ := appendFrame(nil, msgApp(1, 3, 1), 1<<20)
	for name, tail := range map[string][]byte{
		"garbage":   {0, 0, 0, 3, 0xff, 0xff, 0xff},
		"too large": {0xff, 0xff, 0xff, 0xff},
		"truncated": good[:len(good)-2],
	} {
		body := append(append(append([]byte{}, good...), other...), tail...)
		conn := openStream(t, b.url(), "1", "2", hexID(testCluster))
		if _, err := conn.Write(body); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		conn.(*net.TCPConn).CloseWrite()
		if m := b.recv(t, 2*time.Second); m.GetTo() != 2 {
			t.Fatalf("%s: delivered %v", name, m)
		}
		deadline := time.Now().Add(2 * time.Second)
		for b.logs.count("inbound stream down") < 1 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if name != "truncated" && b.logs.count("malformed") != 1 {
			t.Errorf("%s: malformed input logged %d times, want once", name, b.logs.count("malformed"))
		}
		if b.logs.count("message for another member dropped") != 1 {
			t.Errorf("%s: misaddressed message not logged", name)
		}
		b.logs = resetLogs(b)
		select {
		case m := <-b.got:
			t.Fatalf("%s: delivered %v", name, m)
		default:
		}
	}
}

// A peer that admits the stream and then stops reading: the stream is
// closed after WriteTimeout, the peer reported, and Send never waits.
func TestStalledStream(t *testing.T) {
	url := hangingPeer(t)
	a := newNode(t, 1, func(c *Config) { c.WriteTimeout = 300 * time.Millisecond; c.QueueSize = 64 })
	if err := a.tr.AddPeer(2, []string{url}); err != nil {
		t.Fatal(err)
	}
	big := msgApp(1, 2, 1)
	big.Entries[0].Data = make([]byte, 1<<20)
	deadline := time.Now().Add(5 * time.Second)
	for a.logs.count("peer stream down") == 0 {
		start := time.Now()
		a.tr.Send([]*raftpb.Message{big})
		if took := time.Since(start); took > 50*time.Millisecond {
			t.Fatalf("Send blocked %v", took)
		}
		time.Sleep(5 * time.Millisecond)
		if time.Now().After(deadline) {
			t.Fatal("a stalled stream was never closed")
		}
	}
	a.waitUnreachable(t, 2, time.Second)
}

// A peer listener with short server timeouts (as a member might set) cuts
// neither an idle stream nor a snapshot whose delivery takes longer.
func TestServerTimeoutsSparePeers(t *testing.T) {
	a := newNode(t, 1)
	b := newNode(t, 2, func(c *Config) {
		deliver := c.Deliver
		c.Deliver = func(m *raftpb.Message) {
			if m.GetType() == raftpb.MsgSnap {
				time.Sleep(300 * time.Millisecond)
			}
			deliver(m)
		}
	})
	b.down()
	b.srvTimeout = 100 * time.Millisecond
	b.listen(t, b.addr)
	connect(t, a, b)
	for i := uint64(1); i <= 3; i++ {
		a.tr.Send([]*raftpb.Message{msgApp(1, 2, i)})
		if m := b.recv(t, 5*time.Second); m.GetEntries()[0].GetIndex() != i {
			t.Fatalf("got entry %d, want %d", m.GetEntries()[0].GetIndex(), i)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if c := a.logs.count("peer stream up"); c != 1 {
		t.Errorf("stream came up %d times, want once", c)
	}
	a.tr.Send([]*raftpb.Message{msgSnap(1, 2, 4<<20)})
	if s := a.waitSnapStatus(t, 5*time.Second); s != (snapStatus{2, true}) {
		t.Fatalf("status %+v", s)
	}
}

// hangingPeer admits streams and then never reads them: a member whose
// process hangs. It returns the peer URL.
func hangingPeer(t *testing.T) string {
	hang := make(chan struct{})
	ln := listenLoopback(t, "127.0.0.1:0")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + streamProto + "\r\nConnection: Upgrade\r\n\r\n"))
		<-hang
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		close(hang)
		srv.Close()
	})
	return "http://" + ln.Addr().String()
}

// A hung peer holds up nobody else: a healthy one keeps getting its
// messages, in order, while the hung one's queue overflows.
func TestHungPeerHoldsUpNobody(t *testing.T) {
	a, b := newNode(t, 1, func(c *Config) { c.QueueSize = 256 }), newNode(t, 2)
	connect(t, a, b)
	if err := a.tr.AddPeer(3, []string{hangingPeer(t)}); err != nil {
		t.Fatal(err)
	}
	warmUp(t, a, b)
	big := msgApp(1, 3, 1)
	big.Entries[0].Data = make([]byte, 256<<10)
	const n = 2000
	start := time.Now()
	for i := uint64(1); i <= n; i++ {
		a.tr.Send([]*raftpb.Message{big, msgApp(1, 2, i)})
		if m := b.recv(t, 2*time.Second); m.GetEntries()[0].GetIndex() != i {
			t.Fatalf("got entry %d, want %d", m.GetEntries()[0].GetIndex(), i)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("%d round trips beside a hung peer took %v", n, took)
	}
	if (*a.tr.peers.Load())[3].dropped.Load() == 0 {
		t.Error("the hung peer's queue never overflowed")
	}
	a.waitUnreachable(t, 3, 5*time.Second)
}
