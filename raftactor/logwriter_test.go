package raftactor

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// gate blocks the log writer's syncs while closed; entered reports each sync
// that waits on it.
type gate struct {
	shut    atomic.Bool
	open    chan struct{}
	entered chan struct{}
}

func newGate() *gate { return &gate{open: make(chan struct{}), entered: make(chan struct{}, 16)} }

func (g *gate) syncing() {
	if g.shut.Load() {
		g.entered <- struct{}{}
		<-g.open
	}
}

func (g *gate) close() { g.shut.Store(true) }

func (g *gate) release() {
	g.shut.Store(false)
	close(g.open)
}

// writtenSink collects what a log writer reports to its raft actor.
type writtenSink struct{ out chan any }

func (s *writtenSink) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *logWritten, *logFailed:
		s.out <- m
	}
}

// storageAppend is raft's MsgStorageAppend of the entries lo..hi, with the
// response raft attaches to it.
func storageAppend(lo, hi uint64) *appendLog {
	ents := mkEntries(lo, hi, 1)
	return &appendLog{
		msg: &raftpb.Message{
			Type: raftpb.MsgStorageAppend.Enum(), To: new(raft.LocalAppendThread), From: new(uint64(1)), Entries: ents,
			Responses: []*raftpb.Message{{Type: raftpb.MsgStorageAppendResp.Enum(), To: new(uint64(1)),
				From: new(raft.LocalAppendThread), Index: new(hi), LogTerm: new(uint64(1))}},
		},
		hardState: hardState(1, 1, lo-1),
	}
}

// While one batch syncs, the appends that arrive queue in the writer's
// mailbox; the next sync makes all of them durable at once, and one
// logWritten reports them, in the order they were asked.
func TestWriterBatchesQueuedAppendsIntoOneSync(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	store, st, err := openLogStore(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	sink := &writtenSink{out: make(chan any, 16)}
	raftPID := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sink }))
	g := newGate()
	cfg := Config{DataDir: filepath.Dir(dir), hooks: &testHooks{syncing: g.syncing}}
	w := sys.Root.Spawn(logWriterProps(cfg, raftPID, store, st))

	g.close()
	sys.Root.Send(w, storageAppend(1, 2))
	await(t, g.entered) // the first batch is syncing
	for i := uint64(0); i < 4; i++ {
		sys.Root.Send(w, storageAppend(3+2*i, 4+2*i))
	}
	// Nothing is reported durable while the sync has not returned.
	time.Sleep(20 * time.Millisecond)
	if len(sink.out) != 0 {
		t.Fatalf("reported before the sync returned: %T", <-sink.out)
	}
	g.release()

	first, ok := await(t, sink.out).(*logWritten)
	if !ok || len(first.appends) != 1 || first.appends[0].GetEntries()[1].GetIndex() != 2 {
		t.Fatalf("first report: %+v", first)
	}
	second, ok := await(t, sink.out).(*logWritten)
	if !ok || len(second.appends) != 4 {
		t.Fatalf("the four queued appends were not reported by one sync: %+v", second)
	}
	for i, a := range second.appends {
		if got := a.GetEntries()[0].GetIndex(); got != 3+2*uint64(i) {
			t.Fatalf("append %d of the batch starts at %d, want %d", i, got, 3+2*i)
		}
	}
	if n := store.syncs.Load(); n != 2 {
		t.Fatalf("%d syncs for a batch of one and a batch of four, want 2", n)
	}
	if _, err := sys.Root.RequestFuture(w, &closeLog{writeHardState: true}, waitLimit).Result(); err != nil {
		t.Fatal(err)
	}
	s, st, err := openLogStore(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.close()
	checkEntries(t, st.entries, 1, 10, func(uint64) uint64 { return 1 })
	if st.hardState.GetCommit() != 8 {
		t.Fatalf("hard state %v after a clean close, want the last one handed over (commit 8)", st.hardState)
	}
}

// A slow sync holds back only what waits for it: the raft actor answers
// status asks and plain reads and takes proposals meanwhile, and the
// proposals that came during the sync share the next one.
func TestRaftGoesOnWhileTheLogSyncs(t *testing.T) {
	sys := newSystem(t)
	g := newGate()
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir(), TickInterval: 5 * time.Millisecond,
		hooks: &testHooks{syncing: g.syncing}})
	defer m.stop()
	if got := await(t, m.propose("/a").Done); got.Err != nil {
		t.Fatal(got.Err)
	}
	m.syncTree()
	before := m.log.Load().syncs.Load()

	g.close()
	slow := m.propose("/slow")
	await(t, g.entered)
	var ps []*actors.Propose
	for i := range 5 {
		ps = append(ps, m.propose(fmt.Sprintf("/during%d", i)))
	}
	// Ticks go on too: several election timeouts' worth pass while the
	// disk is stuck, and the member is still the leader of its term.
	time.Sleep(20 * 5 * time.Millisecond)
	st := m.status()
	if !st.IsLeader || st.Term != 2 {
		t.Fatalf("status while the log syncs: %+v", st)
	}
	rd := &actors.Read{Path: "/a", Done: make(chan *actors.Read, 1)}
	sys.Root.Send(m.raft, rd)
	if got := await(t, rd.Done); got.Err != nil {
		t.Fatalf("plain read while the log syncs: %v", got.Err)
	}
	m.status() // after the proposals' Ready: their appends are with the writer
	assertUnanswered(t, append(ps, slow))

	g.release()
	if got := await(t, slow.Done); got.Err != nil {
		t.Fatal(got.Err)
	}
	for _, p := range ps {
		if got := await(t, p.Done); got.Err != nil {
			t.Fatalf("%s: %v", got.Cmd.Path, got.Err)
		}
	}
	if n := m.log.Load().syncs.Load() - before; n != 2 {
		t.Fatalf("%d syncs for one slow write and five queued behind it, want 2", n)
	}
}
