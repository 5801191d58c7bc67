package raftactor

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
)

const waitLimit = 10 * time.Second

func newSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	sys := actortest.QuietSystem()
	t.Cleanup(sys.Shutdown)
	return sys
}

// fakeTree stands in for the tree actor: it checks that entries arrive in
// order without gaps, answers waiters with an event carrying the entry's
// index (and the command's path as the node key), snapshots as "snap@N",
// answers reads with the index it has applied, and reports every message it
// handled on out.
type fakeTree struct {
	raft    *actor.PID
	out     chan any
	applied uint64
	bad     *atomic.Value // first ordering error seen, as a string
}

// syncTree is a message the fake tree just answers: every message sent to it
// before has been handled and reported once the answer arrives.
type syncTree struct{ done chan struct{} }

func (f *fakeTree) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Restore:
		f.applied = m.Index
		f.out <- m
	case *actors.Committed:
		for _, e := range m.Entries {
			if e.Index != f.applied+1 && f.bad.Load() == nil {
				f.bad.Store(fmt.Sprintf("entry %d after %d", e.Index, f.applied))
			}
			f.applied = e.Index
			if w := e.Waiter; w != nil {
				w.Event = &actors.Event{Action: actors.ActionSet, Index: e.Index, Node: &actors.Node{Key: e.Cmd.Path}}
				w.RaftIndex, w.RaftTerm = e.Index, e.Term
				w.Done <- w
			}
		}
		f.out <- m
	case *actors.TakeSnapshot:
		data := append(m.Prefix, "snap@"+strconv.FormatUint(f.applied, 10)...)
		ctx.Send(f.raft, &actors.Snapshot{Index: f.applied, Data: data})
		f.out <- m
	case *actors.Read:
		m.RaftIndex = f.applied
		m.Done <- m
		f.out <- m
	case *syncTree:
		close(m.done)
	}
}

// member is one raft actor with its fake tree, in one test's system.
type member struct {
	t     testing.TB
	sys   *actor.ActorSystem
	raft  *actor.PID
	tree  *actor.PID
	out   chan any
	bad   *atomic.Value
	log   atomic.Pointer[logStore]
	fails chan error
	// full makes every write of the log file fail, as a full disk does.
	full atomic.Bool
}

var memberSeq atomic.Uint64

// startMember spawns a fake tree and a raft actor with cfg (PIDs.Tree, Log,
// Fail and the opened hook are filled in here).
func startMember(t testing.TB, sys *actor.ActorSystem, cfg Config) *member {
	t.Helper()
	n := memberSeq.Add(1)
	m := &member{t: t, sys: sys, out: make(chan any, 100000), bad: &atomic.Value{}, fails: make(chan error, 4)}
	raftName := "raft-" + strconv.FormatUint(n, 10)
	m.raft = sys.NewLocalPID(raftName)
	tree, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &fakeTree{raft: m.raft, out: m.out, bad: m.bad}
	}), "tree-"+strconv.FormatUint(n, 10))
	if err != nil {
		t.Fatal(err)
	}
	m.tree = tree
	cfg.PIDs.Tree = tree
	cfg.Log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	cfg.Fail = func(err error) { m.fails <- err }
	if cfg.hooks == nil {
		cfg.hooks = &testHooks{}
	}
	cfg.hooks.opened = func(l *logStore) {
		l.fault = func() error {
			if m.full.Load() {
				return syscall.ENOSPC
			}
			return nil
		}
		m.log.Store(l)
	}
	if _, err := sys.Root.SpawnNamed(Props(cfg), raftName); err != nil {
		t.Fatal(err)
	}
	return m
}

// stop stops the raft actor and then the tree, and checks that nothing
// failed and that the tree saw a gap-free log.
func (m *member) stop() {
	m.t.Helper()
	m.stopRaft()
	if err := m.sys.Root.StopFuture(m.tree).Wait(); err != nil {
		m.t.Fatalf("stop tree: %v", err)
	}
	if bad := m.bad.Load(); bad != nil {
		m.t.Fatalf("tree saw entries out of order: %v", bad)
	}
	select {
	case err := <-m.fails:
		m.t.Fatalf("member failed: %v", err)
	default:
	}
}

func (m *member) stopRaft() {
	m.t.Helper()
	if err := m.sys.Root.PoisonFuture(m.raft).Wait(); err != nil {
		m.t.Fatalf("stop raft: %v", err)
	}
}

func (m *member) propose(path string) *actors.Propose {
	p := &actors.Propose{
		Cmd:  actors.Command{Op: actors.OpSet, Path: path, Value: "v"},
		Done: make(chan *actors.Propose, 1),
	}
	m.sys.Root.Send(m.raft, p)
	return p
}

func (m *member) status() actors.Status {
	m.t.Helper()
	ask := &actors.StatusAsk{Done: make(chan *actors.StatusAsk, 1)}
	m.sys.Root.Send(m.raft, ask)
	select {
	case a := <-ask.Done:
		return a.Status
	case <-time.After(waitLimit):
		m.t.Fatal("no status")
		return actors.Status{}
	}
}

// syncTree waits until the tree has handled everything sent to it so far.
func (m *member) syncTree() {
	m.t.Helper()
	s := &syncTree{done: make(chan struct{})}
	m.sys.Root.Send(m.tree, s)
	select {
	case <-s.done:
	case <-time.After(waitLimit):
		m.t.Fatal("tree does not answer")
	}
}

// next is the tree's next reported message.
func (m *member) next() any {
	m.t.Helper()
	select {
	case v := <-m.out:
		return v
	case <-time.After(waitLimit):
		m.t.Fatal("tree got nothing")
		return nil
	}
}

// committedUntil collects the entries the tree gets until it has seen index
// last, and fails on anything else arriving meanwhile.
func (m *member) committedUntil(last uint64) []actors.Entry {
	m.t.Helper()
	var got []actors.Entry
	for len(got) == 0 || got[len(got)-1].Index < last {
		switch v := m.next().(type) {
		case *actors.Committed:
			got = append(got, v.Entries...)
		case *actors.TakeSnapshot:
		default:
			m.t.Fatalf("tree got %T while waiting for entry %d", v, last)
		}
	}
	return got
}

func await[T any](t *testing.T, done chan T) T {
	t.Helper()
	select {
	case v := <-done:
		return v
	case <-time.After(waitLimit):
		t.Fatal("no answer")
		var zero T
		return zero
	}
}

// votingPeer plays member id for a two-member cluster: it grants every
// vote and answers heartbeats, but never acknowledges an append, so the
// member it talks to leads and nothing it proposes commits.
type votingPeer struct {
	root   *actor.RootContext
	target atomic.Pointer[actor.PID] // set once the member is spawned
	id     uint64
}

func (p *votingPeer) Send(msgs []*raftpb.Message) {
	target := p.target.Load()
	if target == nil {
		return // not wired yet: as if the network lost them
	}
	for _, m := range msgs {
		var typ raftpb.MessageType
		switch m.GetType() {
		case raftpb.MsgPreVote:
			typ = raftpb.MsgPreVoteResp
		case raftpb.MsgVote:
			typ = raftpb.MsgVoteResp
		case raftpb.MsgHeartbeat:
			typ = raftpb.MsgHeartbeatResp
		default:
			continue
		}
		p.root.Send(target, &Inbound{Msg: &raftpb.Message{
			Type: &typ, From: new(p.id), To: new(m.GetFrom()), Term: new(m.GetTerm()),
		}})
	}
}

// channelActor forwards every *actors.LeaderChanged to a channel (a fake wheel).
type channelActor struct{ ch chan *actors.LeaderChanged }

func (c *channelActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*actors.LeaderChanged); ok {
		c.ch <- m
	}
}

func (p *votingPeer) AddPeer(uint64, []string) error    { return nil }
func (p *votingPeer) UpdatePeer(uint64, []string) error { return nil }
func (p *votingPeer) RemovePeer(uint64)                 {}
func (p *votingPeer) Refuse(uint64)                     {}
func (p *votingPeer) ActiveSince(uint64) time.Time      { return time.Time{} }
