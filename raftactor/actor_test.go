package raftactor

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
)

// A fresh single member's log: 1 is the bootstrap conf change, 2 the
// leader's empty entry of term 2, so proposals start at 3.
const firstProposalIndex = 3

func TestConcurrentProposalsAreBatchedInLogOrder(t *testing.T) {
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir()})
	m.status() // started: the log is open
	before := m.log.Load().syncs.Load()

	const n = 200
	ps := make([]*actors.Propose, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps[i] = m.propose(fmt.Sprintf("/k%d", i))
		}()
	}
	wg.Wait()
	var idx []uint64
	for i, p := range ps {
		got := await(t, p.Done)
		if got.Err != nil {
			t.Fatalf("proposal %d: %v", i, got.Err)
		}
		if got.Event == nil || got.Event.Index != got.RaftIndex || got.Event.Node.Key != fmt.Sprintf("/k%d", i) {
			t.Fatalf("proposal %d answered with %+v at %d: another proposal's entry", i, got.Event, got.RaftIndex)
		}
		if got.RaftTerm != 2 {
			t.Fatalf("proposal %d: term %d, want 2", i, got.RaftTerm)
		}
		idx = append(idx, got.RaftIndex)
	}
	slices.Sort(idx)
	for i, x := range idx {
		if x != firstProposalIndex+uint64(i) {
			t.Fatalf("sorted indexes %v...: position %d is %d, want %d", idx[:min(len(idx), 10)], i, x, firstProposalIndex+uint64(i))
		}
	}
	txs := m.log.Load().syncs.Load() - before
	if txs >= n {
		t.Fatalf("%d proposals took %d bbolt transactions: not batched", n, txs)
	}
	t.Logf("%d proposals in %d transactions", n, txs)

	// One at a time, each write costs exactly one transaction: the Ready
	// that only moves the commit index is not written on its own.
	before = m.log.Load().syncs.Load()
	for i := range 5 {
		if got := await(t, m.propose(fmt.Sprintf("/s%d", i)).Done); got.Err != nil {
			t.Fatal(got.Err)
		}
	}
	if txs := m.log.Load().syncs.Load() - before; txs != 5 {
		t.Fatalf("5 sequential proposals took %d transactions, want 5", txs)
	}

	last := uint64(firstProposalIndex + n + 5 - 1)
	st := m.status()
	if st.ID != 1 || st.Lead != 1 || !st.IsLeader || st.Term != 2 || st.Commit != last || st.Applied != last || st.StartTime == 0 || st.LeaderSince < st.StartTime {
		t.Fatalf("status %+v", st)
	}
	m.stop()
}

func TestRestartWithoutSnapshotReplaysWholeLog(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 7, DataDir: dir})
	paths := proposeAll(t, m, 30, 7)
	m.stop()

	m = startMember(t, sys, Config{ID: 7, DataDir: dir})
	r, ok := m.next().(*actors.Restore)
	if !ok || r.Index != 0 || r.Term != 0 || r.Data != nil {
		t.Fatalf("first message to the tree: %#v, want an empty Restore", r)
	}
	last := uint64(firstProposalIndex + 30 - 1)
	ents := m.committedUntil(last + 1)
	checkReplay(t, ents, 1, last, paths)
	// 1 and 2 carry no command; last+1 is the new term's empty entry.
	for _, e := range []actors.Entry{ents[0], ents[1], ents[len(ents)-1]} {
		if e.Cmd != nil || e.Waiter != nil {
			t.Fatalf("entry %d: cmd %+v", e.Index, e.Cmd)
		}
	}
	if e := ents[len(ents)-1]; e.Term != 3 {
		t.Fatalf("restart campaign: entry %d in term %d, want 3", e.Index, e.Term)
	}
	m.stop()
}

func TestRestartAfterSnapshotAndCompaction(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	// Small WAL segments, so that compaction has whole segments to release.
	cfg := Config{ID: 1, DataDir: dir, SnapshotCount: 50, WALSegmentSize: 1024}
	m := startMember(t, sys, cfg)
	const n = 130
	paths := proposeAll(t, m, n, 10)
	last := uint64(firstProposalIndex + n - 1)
	m.stop()
	var snaps int
	for len(m.out) > 0 {
		if _, ok := (<-m.out).(*actors.TakeSnapshot); ok {
			snaps++
		}
	}
	if snaps < 2 {
		t.Fatalf("%d snapshots asked for %d entries with SnapshotCount 50", snaps, last)
	}

	// What is on disk: the snapshot, the log after it (the WAL's segments
	// wholly behind the slack released), and the exact commit index of a
	// clean stop.
	segs, _ := filepath.Glob(filepath.Join(dir, "member", "wal", "0000000000000000-*.wal"))
	if len(segs) != 0 {
		t.Fatalf("the first WAL segment is still there after snapshots at 50 and 100: %v", segs)
	}
	l, st, err := openLogStore(filepath.Join(dir, "member"), cfg.WALSegmentSize)
	if err != nil {
		t.Fatal(err)
	}
	l.close()
	s := st.snapshot.GetMetadata().GetIndex()
	_, tree, withMembers, err := splitImage(st.snapshot.GetData())
	if s < 100 || s > last || err != nil || !withMembers || string(tree) != fmt.Sprintf("snap@%d", s) {
		t.Fatalf("snapshot at %d with %q", s, st.snapshot.GetData())
	}
	if first := st.entries[0].GetIndex(); first != s+1 {
		t.Fatalf("log starts at %d after a snapshot at %d, want %d", first, s, s+1)
	}
	if got := st.entries[len(st.entries)-1].GetIndex(); got != last || st.hardState.GetCommit() != last {
		t.Fatalf("log ends at %d, commit %d, want %d", got, st.hardState.GetCommit(), last)
	}
	if fmt.Sprint(st.snapshot.GetMetadata().GetConfState().GetVoters()) != "[1]" {
		t.Fatalf("snapshot conf state %v", st.snapshot.GetMetadata().GetConfState())
	}

	m = startMember(t, sys, cfg)
	r, ok := m.next().(*actors.Restore)
	if !ok || r.Index != s || r.Term != 2 || string(r.Data) != fmt.Sprintf("snap@%d", s) {
		t.Fatalf("first message to the tree: %#v, want Restore of snapshot %d", r, s)
	}
	ents := m.committedUntil(last + 1)
	checkReplay(t, ents, s+1, last, paths)
	// The member goes on from there.
	p := await(t, m.propose("/after").Done)
	if p.Err != nil || p.RaftIndex != last+2 {
		t.Fatalf("proposal after restart: index %d, err %v; want %d", p.RaftIndex, p.Err, last+2)
	}
	m.stop()
}

// proposeAll proposes n writes in bursts of `burst` concurrent ones and
// returns the path proposed at each index.
func proposeAll(t *testing.T, m *member, n, burst int) map[uint64]string {
	t.Helper()
	paths := make(map[uint64]string)
	for i := 0; i < n; i += burst {
		var ps []*actors.Propose
		for j := i; j < min(i+burst, n); j++ {
			ps = append(ps, m.propose(fmt.Sprintf("/p%d", j)))
		}
		for _, p := range ps {
			got := await(t, p.Done)
			if got.Err != nil {
				t.Fatalf("%s: %v", got.Cmd.Path, got.Err)
			}
			paths[got.RaftIndex] = got.Cmd.Path
		}
	}
	return paths
}

// checkReplay asserts ents run from lo to last+1 without gaps, carry the
// commands proposed at those indexes and no waiters.
func checkReplay(t *testing.T, ents []actors.Entry, lo, last uint64, paths map[uint64]string) {
	t.Helper()
	if len(ents) == 0 || ents[0].Index != lo || ents[len(ents)-1].Index != last+1 {
		t.Fatalf("replayed %d entries, want %d..%d", len(ents), lo, last+1)
	}
	for i, e := range ents {
		if e.Index != lo+uint64(i) {
			t.Fatalf("replayed entry %d at position %d", e.Index, i)
		}
		if e.Waiter != nil {
			t.Fatalf("replayed entry %d has a waiter", e.Index)
		}
		want, proposed := paths[e.Index]
		if proposed && (e.Cmd == nil || e.Cmd.Path != want || e.Cmd.Op != actors.OpSet || e.Cmd.Value != "v") {
			t.Fatalf("replayed entry %d: %+v, want set %s", e.Index, e.Cmd, want)
		}
	}
}

func TestQuorumReadWaitsForEntriesBeforeIt(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: dir})
	paths := proposeAll(t, m, 20, 5)
	last := uint64(firstProposalIndex + 20 - 1)

	// In steady state a quorum read sees everything acknowledged.
	rd := &actors.Read{Path: "/p1", Quorum: true, Done: make(chan *actors.Read, 1)}
	m.sys.Root.Send(m.raft, rd)
	if got := await(t, rd.Done); got.Err != nil || got.RaftIndex != last {
		t.Fatalf("quorum read: applied %d, err %v; want %d", got.RaftIndex, got.Err, last)
	}
	m.stop()

	// Simulate a crash that lost the lazily written commit index: only 5
	// is known committed on restart, though 22 was acknowledged.
	l, st, err := openLogStore(filepath.Join(dir, "member"), 0)
	if err == nil {
		err = l.write(&logWrite{hardState: hardState(st.hardState.GetTerm(), st.hardState.GetVote(), 5)})
	}
	l.close()
	if err != nil {
		t.Fatal(err)
	}

	// The read arrives before the restarted member has run a single Ready.
	gate := make(chan struct{})
	m = startMember(t, sys, Config{ID: 1, DataDir: dir, hooks: &testHooks{replayed: func() { <-gate }}})
	rd = &actors.Read{Path: "/p1", Quorum: true, Done: make(chan *actors.Read, 1)}
	m.sys.Root.Send(m.raft, rd)
	close(gate)
	got := await(t, rd.Done)
	if got.Err != nil || got.RaftIndex != last+1 {
		t.Fatalf("quorum read at restart: tree had applied %d (err %v), want %d", got.RaftIndex, got.Err, last+1)
	}
	if _, ok := m.next().(*actors.Restore); !ok {
		t.Fatal("tree did not get the Restore first")
	}
	checkReplay(t, m.committedUntil(last+1), 1, last, paths)
	if v, ok := m.next().(*actors.Read); !ok || v != rd {
		t.Fatalf("after the entries the tree got %T, want the read", v)
	}
	m.stop()
}

func TestPlainReadGoesStraightToTree(t *testing.T) {
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir()})
	rd := &actors.Read{Path: "/", Done: make(chan *actors.Read, 1)}
	m.sys.Root.Send(m.raft, rd)
	if got := await(t, rd.Done); got.Err != nil {
		t.Fatalf("read: %v", got.Err)
	}
	m.stop()
}

func TestStopAnswersQueuedWaiters(t *testing.T) {
	sys := newSystem(t)
	// Two voters, the other one unreachable and no ticks: never a leader,
	// so everything waits in the queue.
	m := startMember(t, sys, Config{ID: 1, Peers: []uint64{1, 2}, DataDir: t.TempDir(), TickInterval: time.Hour})
	var ps []*actors.Propose
	for i := range 3 {
		ps = append(ps, m.propose(fmt.Sprintf("/q%d", i)))
	}
	rd := &actors.Read{Path: "/q0", Quorum: true, Done: make(chan *actors.Read, 1)}
	m.sys.Root.Send(m.raft, rd)
	if st := m.status(); st.Lead != 0 || st.IsLeader {
		t.Fatalf("status %+v: a leader without a quorum", st)
	}
	assertUnanswered(t, ps)
	m.stop()
	for _, p := range ps {
		assertStopped(t, await(t, p.Done).Err)
	}
	assertStopped(t, await(t, rd.Done).Err)
}

func TestStopAnswersProposedWaiters(t *testing.T) {
	sys := newSystem(t)
	peer := &votingPeer{root: sys.Root, id: 2}
	wheelCh := make(chan *actors.LeaderChanged, 16)
	wheel := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &channelActor{ch: wheelCh} }))
	defer func() { _ = sys.Root.StopFuture(wheel).Wait() }()
	m := startMember(t, sys, Config{
		ID: 1, Peers: []uint64{1, 2}, DataDir: t.TempDir(),
		TickInterval: 2 * time.Millisecond, Transport: peer,
		PIDs: actors.PIDs{Wheel: wheel},
	})
	peer.target.Store(m.raft)
	for lc := await(t, wheelCh); !lc.IsLeader; lc = await(t, wheelCh) {
	}
	var ps []*actors.Propose
	for i := range 5 {
		ps = append(ps, m.propose(fmt.Sprintf("/w%d", i)))
	}
	st := m.status()
	if !st.IsLeader || st.Lead != 1 || st.SendAppendRequestCnt == 0 {
		t.Fatalf("status %+v", st)
	}
	// The peer never acknowledges an append: nothing may be answered.
	assertUnanswered(t, ps)
	m.stop()
	for _, p := range ps {
		assertStopped(t, await(t, p.Done).Err)
	}
}

func assertUnanswered(t *testing.T, ps []*actors.Propose) {
	t.Helper()
	for _, p := range ps {
		select {
		case got := <-p.Done:
			t.Fatalf("%s answered early: %+v %v", got.Cmd.Path, got.Event, got.Err)
		default:
		}
	}
}

func assertStopped(t *testing.T, err *actors.Error) {
	t.Helper()
	if err == nil || err.Code != actors.EcodeRaftInternal || err.Cause != "etcdserver: server stopped" {
		t.Fatalf("answer on stop: %v, want 300 server stopped", err)
	}
}

func TestUndecodableEntryFailsMember(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: dir})
	proposeAll(t, m, 3, 3)
	m.stop()
	last := uint64(firstProposalIndex + 3 - 1)

	// An entry from a newer build (or a damaged disk), committed.
	l, st, err := openLogStore(filepath.Join(dir, "member"), 0)
	if err == nil {
		typ := raftpb.EntryNormal
		bad := &raftpb.Entry{Index: new(last + 1), Term: new(st.hardState.GetTerm()), Type: &typ, Data: []byte{0xff, 0}}
		err = l.write(&logWrite{entries: []*raftpb.Entry{bad}, hardState: hardState(st.hardState.GetTerm(), st.hardState.GetVote(), last+1)})
	}
	l.close()
	if err != nil {
		t.Fatal(err)
	}

	m = startMember(t, sys, Config{ID: 1, DataDir: dir})
	if err := await(t, m.fails); !errors.Is(err, actors.ErrUnknownOp) {
		t.Fatalf("fail with %v, want ErrUnknownOp", err)
	}
	p := await(t, m.propose("/x").Done)
	if p.Err == nil || p.Err.Code != actors.EcodeRaftInternal {
		t.Fatalf("proposal to a failed member: %+v", p.Err)
	}
	m.syncTree()
	var top uint64
	for len(m.out) > 0 {
		if c, ok := (<-m.out).(*actors.Committed); ok {
			top = c.Entries[len(c.Entries)-1].Index
		}
	}
	if top != last {
		t.Fatalf("tree got entries up to %d, want %d (and never the bad one)", top, last)
	}
	m.stopRaft()
	if err := sys.Root.StopFuture(m.tree).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestProposeExpireFromLeader(t *testing.T) {
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir()})
	if got := await(t, m.propose("/a").Done); got.Err != nil {
		t.Fatal(got.Err)
	}
	sys.Root.Send(m.raft, &actors.ProposeExpire{Now: 12345})
	var ents []actors.Entry
	for len(ents) == 0 || ents[len(ents)-1].Index < firstProposalIndex+1 {
		if c, ok := m.next().(*actors.Committed); ok {
			ents = append(ents, c.Entries...)
		}
	}
	e := ents[len(ents)-1]
	if e.Index != firstProposalIndex+1 || e.Cmd == nil || e.Cmd.Op != actors.OpExpire || e.Cmd.Now != 12345 || e.Cmd.ReqID != 0 || e.Waiter != nil {
		t.Fatalf("expire entry %+v cmd %+v", e, e.Cmd)
	}
	m.stop()
}

func TestReqIDsUniqueAcrossRestartsAndMembers(t *testing.T) {
	now := time.Now()
	a := newReqIDs(1, now)
	b := newReqIDs(2, now)
	seen := map[uint64]bool{}
	for range 1000 {
		for _, id := range []uint64{a.take(), b.take()} {
			if id == 0 || seen[id] {
				t.Fatalf("id %x repeated or zero", id)
			}
			seen[id] = true
		}
	}
	// A restart in the same millisecond that finds the last run's ids in
	// the log goes past them.
	c := newReqIDs(1, now)
	var top uint64
	for id := range seen {
		c.bumpPast(id)
		if id>>reqIDLowBits == 1 {
			top = max(top, id)
		}
	}
	if id := c.take(); id <= top || seen[id] {
		t.Fatalf("after restart: %x, last run's top %x", id, top)
	}
}
