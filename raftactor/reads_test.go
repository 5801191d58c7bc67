package raftactor

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
)

// echoPeer acknowledges as ackingPeer does and echoes a heartbeat's
// context, as raft does, so that its member can confirm read indexes; it
// counts the heartbeats that carried one.
type echoPeer struct {
	ackingPeer
	withCtx atomic.Int64
}

func (p *echoPeer) Send(msgs []*raftpb.Message) {
	var rest []*raftpb.Message
	for _, m := range msgs {
		if m.GetType() != raftpb.MsgHeartbeat || len(m.GetContext()) == 0 {
			rest = append(rest, m)
			continue
		}
		p.withCtx.Add(1)
		p.root.Send(p.target.Load(), &Inbound{Msg: &raftpb.Message{Type: raftpb.MsgHeartbeatResp.Enum(),
			From: new(p.id), To: new(m.GetFrom()), Term: new(m.GetTerm()), Context: m.GetContext()}})
	}
	p.ackingPeer.Send(rest)
}

// Quorum reads that arrive together share one ReadIndex round: one
// heartbeat to the followers for all of them, not one each.
func TestQuorumReadsShareARound(t *testing.T) {
	sys := newSystem(t)
	peer := &echoPeer{ackingPeer: ackingPeer{root: sys.Root, id: 2}}
	peer.ack.Store(true)
	m := startMember(t, sys, Config{ID: 1, Peers: []uint64{1, 2}, DataDir: t.TempDir(), TickInterval: 50 * time.Millisecond, Transport: peer})
	peer.target.Store(m.raft)
	for !m.status().IsLeader {
		time.Sleep(5 * time.Millisecond)
	}
	await(t, m.propose("/k").Done) // an entry of the leader's term is committed
	before := peer.withCtx.Load()
	const n = 200
	reads := make([]*actors.Read, n)
	for i := range reads {
		reads[i] = &actors.Read{Path: "/k", Quorum: true, Done: make(chan *actors.Read, 1)}
		m.sys.Root.Send(m.raft, reads[i])
	}
	for i, rd := range reads {
		if got := await(t, rd.Done); got.Err != nil {
			t.Fatalf("read %d: %v", i, got.Err)
		}
	}
	if rounds := peer.withCtx.Load() - before; rounds < 1 || rounds > 20 {
		t.Fatalf("%d reads took %d heartbeat rounds", n, rounds)
	}
	m.stop()
}

// fakeLeader leads member 1 from outside: heartbeats keep it a follower,
// and it answers read-index questions, except the first, which it loses.
type fakeLeader struct {
	root   *actor.RootContext
	target atomic.Pointer[actor.PID]
	lost   atomic.Int64
	asked  atomic.Int64
}

func (f *fakeLeader) Send(msgs []*raftpb.Message) {
	for _, m := range msgs {
		if m.GetType() != raftpb.MsgReadIndex {
			continue
		}
		if f.asked.Add(1) == 1 {
			f.lost.Add(1)
			continue // lost on its way
		}
		f.root.Send(f.target.Load(), &Inbound{Msg: &raftpb.Message{Type: raftpb.MsgReadIndexResp.Enum(),
			From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(5)), Index: new(uint64(2)), Entries: m.GetEntries()}})
	}
}
func (f *fakeLeader) AddPeer(uint64, []string) error    { return nil }
func (f *fakeLeader) UpdatePeer(uint64, []string) error { return nil }
func (f *fakeLeader) RemovePeer(uint64)                 {}
func (f *fakeLeader) Refuse(uint64)                     {}
func (f *fakeLeader) ActiveSince(uint64) time.Time      { return time.Time{} }

func (f *fakeLeader) heartbeat() {
	f.root.Send(f.target.Load(), &Inbound{Msg: &raftpb.Message{Type: raftpb.MsgHeartbeat.Enum(),
		From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(5))}})
}

// A follower's read-index question that is lost is asked again: the read
// is answered within about readRetry, not left to its client's timeout.
func TestLostReadIndexIsAskedAgain(t *testing.T) {
	sys := newSystem(t)
	lead := &fakeLeader{root: sys.Root}
	m := startMember(t, sys, Config{ID: 1, Peers: []uint64{1, 2}, DataDir: t.TempDir(), TickInterval: 20 * time.Millisecond, Transport: lead})
	lead.target.Store(m.raft)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			lead.heartbeat()
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for m.status().Lead != 2 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	rd := &actors.Read{Path: "/k", Quorum: true, Done: make(chan *actors.Read, 1)}
	m.sys.Root.Send(m.raft, rd)
	got := await(t, rd.Done)
	if got.Err != nil || lead.lost.Load() != 1 || lead.asked.Load() < 2 {
		t.Fatalf("read: %v; questions lost %d, asked %d", got.Err, lead.lost.Load(), lead.asked.Load())
	}
	if took := time.Since(start); took > 3*readRetry {
		t.Fatalf("answered after %v", took)
	}
	m.stop()
}

// A proposal that waits for a leader longer than its client waits for the
// answer fails then: it is never applied after its client heard it timed
// out.
func TestQueuedProposalTimesOut(t *testing.T) {
	sys := newSystem(t)
	// Two voters, the other never answers: no leader ever.
	m := startMember(t, sys, Config{ID: 1, Peers: []uint64{1, 2}, DataDir: t.TempDir(),
		TickInterval: 10 * time.Millisecond, ProposalTimeout: 300 * time.Millisecond})
	start := time.Now()
	p := m.propose("/q")
	got := await(t, p.Done)
	if got.Err == nil || got.Err.Code != actors.EcodeRaftInternal || got.Err.Cause != "etcdserver: request timed out" {
		t.Fatalf("answer: %+v", got.Err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 2*time.Second {
		t.Fatalf("failed after %v", took)
	}
	m.stop()
}
