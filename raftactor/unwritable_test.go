package raftactor

import (
	"strconv"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// A log that cannot be written (a full disk) stops writes, not the member:
// reads still reach the tree, writes fail at once with a cause a client can
// act on, the write that failed is never applied, and once the disk has room
// the member comes back as a restart would and the index goes on.
func TestUnwritableLogServesReadsAndComesBack(t *testing.T) {
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir(), TickInterval: 10 * time.Millisecond})
	defer m.stop()
	a := await(t, m.propose("/a").Done)
	if a.Err != nil {
		t.Fatalf("first write: %v", a.Err)
	}

	m.full.Store(true)
	b := await(t, m.propose("/b").Done)
	if b.Err == nil || b.Err.Code != actors.EcodeRaftInternal || b.Err.Cause != unwritableCause || b.Err.Status() != 500 {
		t.Fatalf("write on a full disk: %+v", b.Err)
	}
	c := await(t, m.propose("/c").Done)
	if c.Err == nil || c.Err.Cause != unwritableCause {
		t.Fatalf("write while the log is unwritable: %+v", c.Err)
	}
	rd := &actors.Read{Path: "/a", Done: make(chan *actors.Read, 1)}
	sys.Root.Send(m.raft, rd)
	if got := await(t, rd.Done); got.Err != nil || got.RaftIndex != a.RaftIndex {
		t.Fatalf("plain read while unwritable: %+v", got)
	}
	q := &actors.Read{Path: "/a", Quorum: true, Done: make(chan *actors.Read, 1)}
	sys.Root.Send(m.raft, q)
	if got := await(t, q.Done); got.Err == nil || got.Err.Cause != unwritableCause {
		t.Fatalf("quorum read while unwritable: %+v", got)
	}
	if st := m.status(); st.Lead != 0 || st.IsLeader {
		t.Fatalf("an unwritable member still leads: %+v", st)
	}

	m.comesBack(t, a.RaftIndex)
	m.syncTree()
	for len(m.out) > 0 {
		if cm, ok := (<-m.out).(*actors.Committed); ok {
			for _, e := range cm.Entries {
				if e.Cmd != nil && (e.Cmd.Path == "/b" || e.Cmd.Path == "/c") {
					t.Fatalf("the write that failed was applied at %d", e.Index)
				}
			}
		}
	}
}

// A write that fails while others queue behind a slow sync: what the sync
// before it made durable is applied and answered, everything behind the
// failure fails with the unwritable cause, and the member comes back.
func TestWriteFailureBehindASlowSync(t *testing.T) {
	sys := newSystem(t)
	g := newGate()
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir(), TickInterval: 10 * time.Millisecond,
		hooks: &testHooks{syncing: g.syncing}})
	defer m.stop()
	if got := await(t, m.propose("/a").Done); got.Err != nil {
		t.Fatal(got.Err)
	}
	g.close()
	slow := m.propose("/slow")
	await(t, g.entered)
	var ps []*actors.Propose
	for i := range 3 {
		ps = append(ps, m.propose("/behind"+strconv.Itoa(i)))
	}
	m.status()
	m.status() // the appends behind are queued at the writer
	m.full.Store(true)
	g.release()
	s := await(t, slow.Done)
	if s.Err != nil {
		t.Fatalf("the write synced before the failure: %v", s.Err)
	}
	for _, p := range ps {
		if got := await(t, p.Done); got.Err == nil || got.Err.Cause != unwritableCause {
			t.Fatalf("%s queued behind the failed write: %+v", got.Cmd.Path, got.Err)
		}
	}
	m.comesBack(t, s.RaftIndex)
}

// comesBack gives the disk its room back and waits, boundedly, for a write
// to be taken again, past the last index acknowledged before the failure.
func (m *member) comesBack(t *testing.T, acked uint64) {
	t.Helper()
	m.full.Store(false)
	var d *actors.Propose
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if d = await(t, m.propose("/d").Done); d.Err == nil {
			break
		}
		if d.Err.Cause != unwritableCause || time.Now().After(deadline) {
			t.Fatalf("write after room came back: %+v", d.Err)
		}
	}
	if d.RaftIndex <= acked {
		t.Fatalf("index %d after coming back, not past the acknowledged %d", d.RaftIndex, acked)
	}
}
