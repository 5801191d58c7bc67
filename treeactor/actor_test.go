package treeactor

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
	"github.com/rs/zerolog"
)

// rig runs a tree actor with stand-ins for the hub, the wheel and the raft
// actor that forward whatever they get to channels.
type rig struct {
	sys              *actor.ActorSystem
	tree             *actor.PID
	hub, wheel, raft chan any
	fails            chan error
}

func newRig(t testing.TB) *rig {
	t.Helper()
	r := &rig{
		sys:   actortest.QuietSystem(),
		hub:   make(chan any, 100),
		wheel: make(chan any, 100),
		raft:  make(chan any, 100),
		fails: make(chan error, 10),
	}
	var pids []*actor.PID
	forward := func(ch chan any) *actor.PID {
		pid := r.sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			switch m := c.Message().(type) {
			case *actors.Events, *actors.Reset, *actors.NextDeadline, *actors.Snapshot:
				ch <- m
			}
		}))
		pids = append(pids, pid)
		return pid
	}
	d := Deps{
		PIDs: actors.PIDs{Hub: forward(r.hub), Wheel: forward(r.wheel), Raft: forward(r.raft)},
		Log:  zerolog.Nop(),
		Fail: func(err error) { r.fails <- err },
	}
	r.tree = r.sys.Root.Spawn(Props(d))
	pids = append(pids, r.tree)
	t.Cleanup(func() {
		for _, pid := range pids {
			if err := r.sys.Root.StopFuture(pid).Wait(); err != nil {
				t.Errorf("stopping %v: %v", pid, err)
			}
		}
		r.sys.Shutdown()
	})
	return r
}

// recv waits for the next message on ch; the timeout only turns a hang into
// a failure.
func recv[T any](t testing.TB, ch chan T) T {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing arrived")
		panic("unreachable")
	}
}

func waiter() *actors.Propose { return &actors.Propose{Done: make(chan *actors.Propose, 1)} }

func (r *rig) read(t *testing.T, rd *actors.Read) *actors.Read {
	t.Helper()
	rd.Done = make(chan *actors.Read, 1)
	r.sys.Root.Send(r.tree, rd)
	got := recv(t, rd.Done)
	if (got.Err == nil) != (got.View != nil) {
		t.Fatalf("read answered with error %v and view %v", got.Err, got.View)
	}
	if got.View != nil {
		got.Render()
	}
	return got
}

func eventJSON(t *testing.T, ev *actors.Event, at int64) string {
	t.Helper()
	if ev == nil {
		t.Fatalf("no event")
	}
	return strings.TrimSuffix(renderEvent(t, ev, at), "\n")
}

func TestActorAppliesCommitted(t *testing.T) {
	r := newRig(t)
	r.sys.Root.Send(r.tree, &actors.Restore{Index: 10, Term: 2})
	if m := recv(t, r.hub).(*actors.Reset); m.EtcdIndex != 0 {
		t.Fatalf("reset at %d", m.EtcdIndex)
	}
	if d := recv(t, r.wheel).(*actors.NextDeadline); *d != (actors.NextDeadline{Restored: true}) {
		t.Fatalf("an empty tree restored: %+v, want no deadline, restored", *d)
	}

	w0, w1, w3, w4 := waiter(), waiter(), waiter(), waiter()
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{
		{Index: 10, Term: 2, Cmd: set("/old", "x"), Waiter: w0},
		{Index: 11, Term: 2, Cmd: ttl(set("/a", "1"), time.Minute), Waiter: w1},
		{Index: 12, Term: 2},
		{Index: 13, Term: 2, Cmd: update("/nokey", "x"), Waiter: w3},
		{Index: 14, Term: 3, Cmd: refresh(ttl(set("/a", ""), 2*time.Minute)), Waiter: w4},
		{Index: 15, Term: 3, Cmd: set("/b", "2")},
	}})

	if got := recv(t, w0.Done); got.Err == nil || got.Err.Code != actors.EcodeRaftInternal || got.RaftIndex != 10 {
		t.Fatalf("waiter of an already applied entry: %+v", got)
	}
	got := recv(t, w1.Done)
	if got.Err != nil || got.RaftIndex != 11 || got.RaftTerm != 2 {
		t.Fatalf("waiter 11: %+v", got)
	}
	if j := eventJSON(t, got.Event, now); j != `{"action":"set","node":{"key":"/a","value":"1","expiration":"2026-01-01T00:01:00Z","ttl":60,"modifiedIndex":1,"createdIndex":1}}` {
		t.Fatalf("waiter 11 event %s", j)
	}
	got = recv(t, w3.Done)
	if got.Event != nil || got.RaftIndex != 13 || string(got.Err.AppendJSON(nil)) != `{"errorCode":100,"message":"Key not found","cause":"/nokey","index":1}`+"\n" {
		t.Fatalf("waiter 13: %+v", got)
	}
	got = recv(t, w4.Done)
	if got.Err != nil || !got.Event.Refresh || got.Event.Index != 2 || got.RaftIndex != 14 || got.RaftTerm != 3 {
		t.Fatalf("waiter 14: %+v", got)
	}

	evs := recv(t, r.hub).(*actors.Events)
	var idx []uint64
	for _, ev := range evs.List {
		idx = append(idx, ev.Index)
	}
	if !slices.Equal(idx, []uint64{1, 2, 3}) || !evs.List[1].Refresh {
		t.Fatalf("one batch of events with indices 1..3 expected, got %v", idx)
	}
	// One NextDeadline for the batch, however many deadlines it moved.
	if d := recv(t, r.wheel).(*actors.NextDeadline); *d != (actors.NextDeadline{At: in(2 * time.Minute)}) {
		t.Fatalf("next deadline %+v, want %d", *d, in(2*time.Minute))
	}

	// The wheel's sweep: one expire event, and the deadline is gone.
	sweep := waiter()
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: 16, Term: 3, Cmd: expire(in(3 * time.Minute)), Waiter: sweep}}})
	if got := recv(t, sweep.Done); got.Err != nil || got.Event != nil || got.RaftIndex != 16 {
		t.Fatalf("sweep waiter: %+v", got)
	}
	evs = recv(t, r.hub).(*actors.Events)
	if len(evs.List) != 1 || eventJSON(t, evs.List[0], in(3*time.Minute)) != `{"action":"expire","node":{"key":"/a","modifiedIndex":4,"createdIndex":2},"prevNode":{"key":"/a","value":"1","expiration":"2026-01-01T00:02:00Z","modifiedIndex":2,"createdIndex":2}}` {
		t.Fatalf("expire batch %+v", evs.List)
	}
	if d := recv(t, r.wheel).(*actors.NextDeadline); *d != (actors.NextDeadline{}) {
		t.Fatalf("next deadline after the sweep %+v, want none", *d)
	}

	// The asker renders from the view into its buffer, whatever it held before.
	rd := r.read(t, &actors.Read{Path: "/", Recursive: true, Sorted: true, Now: now, Body: []byte("stale stale stale stale stale stale stale stale stale")})
	if rd.Err != nil || string(rd.Body) != `{"action":"get","node":{"dir":true,"nodes":[{"key":"/b","value":"2","modifiedIndex":3,"createdIndex":3}]}}`+"\n" ||
		rd.EtcdIndex != 4 || rd.RaftIndex != 16 || rd.RaftTerm != 3 {
		t.Fatalf("read: %+v %s", rd, rd.Body)
	}
	rd = r.read(t, &actors.Read{Path: "/a", Now: now})
	if rd.Err == nil || rd.Err.Code != actors.EcodeKeyNotFound || rd.EtcdIndex != 4 {
		t.Fatalf("read of an expired key: %+v", rd)
	}

	ask := &actors.StoreStatsAsk{Done: make(chan *actors.StoreStatsAsk, 1)}
	r.sys.Root.Send(r.tree, ask)
	want := actors.StoreStats{GetSuccess: 1, GetFail: 1, SetSuccess: 3, UpdateFail: 1, ExpireCount: 1}
	if st := recv(t, ask.Done).Stats; st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}

	// A snapshot goes to the raft actor and restores into the same tree.
	r.sys.Root.Send(r.tree, &actors.TakeSnapshot{})
	snap := recv(t, r.raft).(*actors.Snapshot)
	if snap.Index != 16 {
		t.Fatalf("snapshot at %d", snap.Index)
	}
	restored, err := RestoreStore(snap.Data)
	if err != nil || restored.Index() != 4 || restored.Stats() != want {
		t.Fatalf("snapshot data: %v", err)
	}
}

func TestActorRestoreHintsDeadlines(t *testing.T) {
	r := newRig(t)
	src := richStore(t)
	r.sys.Root.Send(r.tree, &actors.Restore{Index: 50, Term: 4, Data: src.Snapshot()})
	if m := recv(t, r.hub).(*actors.Reset); m.EtcdIndex != src.Index() {
		t.Fatalf("reset at %d, want %d", m.EtcdIndex, src.Index())
	}
	// The restored tree's deadlines are /f (90 s), /ttldir (1 h) and
	// /ttldir/f (2 h): the wheel hears of the earliest, once.
	if d := recv(t, r.wheel).(*actors.NextDeadline); *d != (actors.NextDeadline{At: in(90 * time.Second), Restored: true}) {
		t.Fatalf("next deadline after restore %+v, want %d restored", *d, in(90*time.Second))
	}
	rd := r.read(t, &actors.Read{Path: "/a/_hidden", Now: now})
	if rd.Err != nil || rd.RaftIndex != 50 || rd.RaftTerm != 4 || !strings.Contains(string(rd.Body), `"value":"h"`) {
		t.Fatalf("read after restore: %+v %s", rd, rd.Body)
	}
	// Entries the snapshot covers are not applied again.
	w := waiter()
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: 50, Term: 4, Cmd: set("/new", "1"), Waiter: w}}})
	if got := recv(t, w.Done); got.Err == nil || got.Err.Code != actors.EcodeRaftInternal {
		t.Fatalf("entry at the snapshot's index applied: %+v", got)
	}
	if rd := r.read(t, &actors.Read{Path: "/new", Now: now}); rd.Err == nil {
		t.Fatalf("/new exists")
	}
}

func TestActorStopsOnUnknownOp(t *testing.T) {
	r := newRig(t)
	w1, w2, w3 := waiter(), waiter(), waiter()
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{
		{Index: 1, Term: 1, Cmd: set("/a", "1"), Waiter: w1},
		{Index: 2, Term: 1, Cmd: &actors.Command{Op: 99, Path: "/b"}, Waiter: w2},
		{Index: 3, Term: 1, Cmd: set("/c", "1"), Waiter: w3},
	}})
	if err := recv(t, r.fails); !errors.Is(err, actors.ErrUnknownOp) {
		t.Fatalf("fail with %v", err)
	}
	if got := recv(t, w1.Done); got.Err != nil || got.Event.Index != 1 {
		t.Fatalf("entry before the bad one: %+v", got)
	}
	for _, w := range []*actors.Propose{w2, w3} {
		if got := recv(t, w.Done); got.Err == nil || got.Err.Code != actors.EcodeRaftInternal || got.Event != nil {
			t.Fatalf("entry at or after the bad one: %+v", got)
		}
	}
	if evs := recv(t, r.hub).(*actors.Events); len(evs.List) != 1 || evs.List[0].Node.Key != "/a" {
		t.Fatalf("events %+v", evs.List)
	}
	if rd := r.read(t, &actors.Read{Path: "/a", Now: now}); rd.Err == nil || rd.Err.Code != actors.EcodeRaftInternal {
		t.Fatalf("a stopped tree answered a read: %+v", rd)
	}
	// Nothing more is applied, and Fail is called once.
	w4 := waiter()
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: 4, Term: 1, Cmd: set("/d", "1"), Waiter: w4}}})
	if got := recv(t, w4.Done); got.Err == nil {
		t.Fatalf("a stopped tree applied an entry")
	}
	select {
	case err := <-r.fails:
		t.Fatalf("second fail: %v", err)
	default:
	}
}

func TestActorStopsOnCorruptSnapshot(t *testing.T) {
	r := newRig(t)
	data := richStore(t).Snapshot()
	data[len(data)/2] ^= 1
	r.sys.Root.Send(r.tree, &actors.Restore{Index: 5, Term: 1, Data: data})
	if err := recv(t, r.fails); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("fail with %v", err)
	}
}

// A batch without events (a new leader's empty entry) still tells the hub
// the raft position: after a restart it is how watches learn the new term.
// A batch that moves nothing tells it nothing.
func TestEmptyEntriesMoveTheHubsRaftPosition(t *testing.T) {
	r := newRig(t)
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: 7, Term: 4}}})
	evs := recv(t, r.hub).(*actors.Events)
	if len(evs.List) != 0 || evs.RaftIndex != 7 || evs.RaftTerm != 4 {
		t.Fatalf("hub told %+v, want no events at raft 7 term 4", evs)
	}
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: 7, Term: 4}}})
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: 8, Term: 4, Cmd: set("/a", "1")}}})
	evs = recv(t, r.hub).(*actors.Events)
	if len(evs.List) != 1 || evs.RaftIndex != 8 {
		t.Fatalf("after a batch that moved nothing the hub got %+v, want the write at raft 8", evs)
	}
}
