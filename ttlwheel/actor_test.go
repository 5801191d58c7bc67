package ttlwheel

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
	"github.com/rs/zerolog"
)

// t0 is the fake clock's start, a plausible unix time in nanoseconds.
const t0 = int64(1_700_000_000_000_000_000)

const ms = int64(time.Millisecond)

// flush is a marker the test sends to the fake raft actor: everything the
// wheel sent before it comes out of the channel first.
type flush struct{}

// harness runs one timer actor with a fake clock, a fake raft actor that
// forwards what it receives to a channel, and a receiver middleware that
// reports every message the wheel has finished handling.
type harness struct {
	t         *testing.T
	sys       *actor.ActorSystem
	wheel     *actor.PID
	raft      *actor.PID
	clock     atomic.Int64
	received  chan any
	processed chan any
}

func newHarness(t *testing.T) *harness {
	h := &harness{
		t:         t,
		sys:       actortest.QuietSystem(),
		received:  make(chan any, 100),
		processed: make(chan any, 1000),
	}
	h.clock.Store(t0)
	h.raft = h.sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actors.ProposeExpire, *flush:
			h.received <- m
		}
	}))
	done := func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			next(c, env)
			select {
			case h.processed <- env.Message:
			default:
				// Only the messages a test waits for matter; timer ticks
				// may be dropped when nobody is listening.
			}
		}
	}
	props := Props(Deps{
		PIDs: actors.PIDs{Raft: h.raft},
		Log:  zerolog.Nop(),
		Now:  h.clock.Load,
	}).Configure(actor.WithReceiverMiddleware(done))
	h.wheel = h.sys.Root.Spawn(props)
	t.Cleanup(func() {
		if err := h.sys.Root.StopFuture(h.wheel).Wait(); err != nil {
			t.Errorf("stopping the wheel: %v", err)
		}
		if err := h.sys.Root.StopFuture(h.raft).Wait(); err != nil {
			t.Errorf("stopping the fake raft: %v", err)
		}
		h.sys.Shutdown()
	})
	return h
}

// send delivers msg to the wheel and waits until the wheel has handled it.
func (h *harness) send(msg any) {
	h.t.Helper()
	h.sys.Root.Send(h.wheel, msg)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-h.processed:
			if m == msg {
				return
			}
		case <-deadline:
			h.t.Fatalf("the wheel never handled %T", msg)
		}
	}
}

// at moves the fake clock to t0+offset and runs one tick.
func (h *harness) tickAt(offset time.Duration) {
	h.t.Helper()
	h.clock.Store(t0 + int64(offset))
	h.send(&tick{})
}

// proposals returns the stamps of every ProposeExpire the wheel has sent
// since the last call.
func (h *harness) proposals() []int64 {
	h.t.Helper()
	mark := &flush{}
	h.sys.Root.Send(h.raft, mark)
	var stamps []int64
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-h.received:
			if m == mark {
				return stamps
			}
			if p, ok := m.(*actors.ProposeExpire); ok {
				stamps = append(stamps, p.Now)
			}
		case <-deadline:
			h.t.Fatal("the fake raft never echoed the flush marker")
		}
	}
}

func (h *harness) wantProposals(why string, want ...time.Duration) {
	h.t.Helper()
	got := h.proposals()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i] == t0+int64(want[i])
	}
	if !ok {
		offsets := make([]time.Duration, len(got))
		for i, g := range got {
			offsets[i] = time.Duration(g - t0)
		}
		h.t.Fatalf("%s: proposals stamped t0+%v, want t0+%v", why, offsets, want)
	}
}

func (h *harness) lead(term uint64) {
	h.t.Helper()
	h.send(&actors.LeaderChanged{IsLeader: true, Lead: 1, Term: term})
}

// next is the tree telling the timer its earliest deadline, t0+at.
func next(at time.Duration) *actors.NextDeadline {
	return &actors.NextDeadline{At: t0 + int64(at)}
}

func restored(at time.Duration) *actors.NextDeadline {
	return &actors.NextDeadline{At: t0 + int64(at), Restored: true}
}

func TestFollowerNeverProposes(t *testing.T) {
	h := newHarness(t)
	h.send(&actors.LeaderChanged{IsLeader: false, Lead: 2, Term: 1})
	h.send(next(-time.Second))
	for _, off := range []time.Duration{20, 100, 500, 5000} {
		h.tickAt(off * time.Millisecond)
	}
	h.wantProposals("follower with due deadlines")
}

func TestBecomingLeaderProposesAtOnce(t *testing.T) {
	h := newHarness(t)
	h.send(next(10 * time.Millisecond))
	h.clock.Store(t0 + int64(500*time.Millisecond))
	h.lead(3) // no tick: the check runs on the leadership change
	h.wantProposals("new leader with a due deadline", 500*time.Millisecond)
}

func TestBecomingLeaderWithNothingDue(t *testing.T) {
	h := newHarness(t)
	h.send(next(2 * time.Second))
	h.lead(1)
	h.tickAt(1999 * time.Millisecond)
	h.wantProposals("deadline not reached")
}

func TestProposalStampedWithClock(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	h.send(next(50 * time.Millisecond))
	h.tickAt(40 * time.Millisecond)
	h.wantProposals("before the deadline")
	h.tickAt(57 * time.Millisecond)
	h.wantProposals("after the deadline", 57*time.Millisecond)
}

func TestNoRepeatBeforeRetryDelay(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	h.send(next(50 * time.Millisecond))
	h.tickAt(60 * time.Millisecond)
	h.wantProposals("first sweep", 60*time.Millisecond)
	for _, off := range []time.Duration{60, 61, 80, 100, 150, 259} {
		h.tickAt(off * time.Millisecond)
	}
	// An earlier deadline the sent sweep already covers owes nothing either.
	h.send(next(45 * time.Millisecond))
	h.tickAt(259 * time.Millisecond)
	h.wantProposals("sweep in flight")
}

func TestRetryWhenTreeDoesNotConfirm(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	h.send(next(50 * time.Millisecond))
	h.tickAt(60 * time.Millisecond)
	h.wantProposals("first sweep", 60*time.Millisecond)
	// The tree applied a batch that left a deadline the sweep covers: the
	// sweep itself has not been applied.
	h.send(next(60 * time.Millisecond))
	h.tickAt(259 * time.Millisecond)
	h.wantProposals("before the retry delay")
	h.tickAt(260 * time.Millisecond)
	h.wantProposals("retry", 260*time.Millisecond)
	h.tickAt(300 * time.Millisecond)
	h.wantProposals("right after the retry")
	h.tickAt(460 * time.Millisecond)
	h.wantProposals("second retry", 460*time.Millisecond)
}

func TestNoneAfterTreeConfirms(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	h.send(next(50 * time.Millisecond))
	h.tickAt(50 * time.Millisecond)
	h.wantProposals("sweep", 50*time.Millisecond)
	h.send(&actors.NextDeadline{})
	for _, off := range []time.Duration{250, 1000, 60000} {
		h.tickAt(off * time.Millisecond)
	}
	h.wantProposals("after the tree has no deadline left")
}

func TestRestoredTreeCountsAfresh(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	h.send(next(50 * time.Millisecond))
	h.tickAt(50 * time.Millisecond)
	h.wantProposals("sweep", 50*time.Millisecond)
	h.send(&actors.NextDeadline{Restored: true})
	for _, off := range []time.Duration{250, 1000, 6000} {
		h.tickAt(off * time.Millisecond)
	}
	h.wantProposals("after restoring a tree without deadlines")
	h.send(restored(7 * time.Second))
	h.tickAt(7 * time.Second)
	h.wantProposals("restored deadline", 7*time.Second)
	// A restored deadline older than the last sweep's stamp is not taken
	// as covered by it: the old sweep's reach died with the old tree.
	h.send(restored(6 * time.Second))
	h.tickAt(7*time.Second + 20*time.Millisecond)
	h.wantProposals("restored deadline before the last stamp", 7*time.Second+20*time.Millisecond)
}

func TestNewlyDueDeadlineWaitsOnlyForTheGap(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	h.send(next(50 * time.Millisecond))
	h.tickAt(50 * time.Millisecond)
	h.wantProposals("first sweep", 50*time.Millisecond)
	// The sweep is applied and the next deadline, due after its stamp,
	// needs its own sweep, but not within MinGap of the last one.
	h.send(next(55 * time.Millisecond))
	h.tickAt(69 * time.Millisecond)
	h.wantProposals("inside the gap")
	h.tickAt(70 * time.Millisecond)
	h.wantProposals("after the gap", 70*time.Millisecond)
}

func TestLosingLeadershipStopsSweeps(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	h.send(next(50 * time.Millisecond))
	h.tickAt(50 * time.Millisecond)
	h.wantProposals("sweep", 50*time.Millisecond)
	h.send(&actors.LeaderChanged{IsLeader: false, Lead: 2, Term: 2})
	h.tickAt(time.Second)
	h.wantProposals("after losing leadership")
	// Leading again, the lost sweep is owed at once, no retry delay.
	h.clock.Store(t0 + int64(1010*time.Millisecond))
	h.lead(3)
	h.wantProposals("leading again", 1010*time.Millisecond)
	// A repeated report of the same leadership changes nothing.
	h.lead(3)
	h.wantProposals("same term again")
}

func TestAlarmDrivesSweeps(t *testing.T) {
	h := newHarness(t)
	h.lead(1)
	// A deadline 30 ms ahead arms the real alarm; its tick (no test tick
	// here) must lead to the sweep once the clock has reached it.
	h.send(next(30 * time.Millisecond))
	h.clock.Store(t0 + int64(30*time.Millisecond))
	select {
	case m := <-h.received:
		p, ok := m.(*actors.ProposeExpire)
		if !ok || p.Now != t0+int64(30*time.Millisecond) {
			t.Fatalf("got %#v, want ProposeExpire stamped t0+30ms", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the alarm never drove a sweep")
	}
}

// TestNilRaftIsSkipped runs a sweep with no raft PID and no actor context:
// the timer must skip the send (a send would panic here) yet keep its books.
func TestNilRaftIsSkipped(t *testing.T) {
	a := newTimerActor(Deps{Log: zerolog.Nop(), Now: func() int64 { return t0 }})
	a.leader = true
	a.next = t0 - int64(time.Second)
	a.check(nil)
	if a.sentAt != t0 || a.covered != t0 {
		t.Fatalf("sentAt t0%+d covered t0%+d, want both t0", a.sentAt-t0, a.covered-t0)
	}
}

// TestScheduleSleepsWhenIdle checks, without an actor, that the alarm is off
// with no deadline and for a follower, and otherwise set for the deadline,
// the retry or the end of the gap.
func TestScheduleSleepsWhenIdle(t *testing.T) {
	now := t0
	a := newTimerActor(Deps{Log: zerolog.Nop(), Now: func() int64 { return now }})
	sys := actortest.QuietSystem()
	defer sys.Shutdown()
	a.alarm = actors.NewAlarm(sys.Root, sys.NewLocalPID("nobody"), tickMsg)
	defer a.alarm.Stop()
	a.leader = true
	a.check(nil)
	if a.armed != 0 {
		t.Fatalf("leader with no deadline armed the alarm for t0%+d", a.armed-t0)
	}
	a.next = t0 + 35*ms
	a.check(nil)
	if a.armed != t0+35*ms {
		t.Fatalf("armed for t0%+d, want t0+35ms", a.armed-t0)
	}
	// An earlier deadline brings the alarm forward; a later one leaves it.
	a.next = t0 + 20*ms
	a.check(nil)
	a.next = t0 + 35*ms
	a.check(nil)
	if a.armed != t0+20*ms {
		t.Fatalf("armed for t0%+d, want t0+20ms", a.armed-t0)
	}
	// With a sweep in flight that covers the deadline: the retry.
	now = t0 + 40*ms
	a.sentAt, a.covered = now, now
	a.armed = 0 // the tick that rang
	a.check(nil)
	if want := now + int64(RetryAfter); a.armed != want {
		t.Fatalf("armed for t0%+d, want the retry at t0%+d", a.armed-t0, want-t0)
	}
	// A deadline past the sweep's reach, already due: the end of the gap.
	now = t0 + 50*ms
	a.next = t0 + 45*ms
	a.armed = 0
	a.check(nil)
	if want := a.sentAt + int64(MinGap); a.armed != want {
		t.Fatalf("armed for t0%+d, want the gap's end at t0%+d", a.armed-t0, want-t0)
	}
	a.next = 0
	a.armed = 0
	a.check(nil)
	if a.armed != 0 {
		t.Fatalf("alarm armed for t0%+d after the last deadline went", a.armed-t0)
	}
	a.next = t0 + int64(time.Hour)
	a.leader = false
	a.check(nil)
	if a.armed != 0 {
		t.Fatal("a follower armed the alarm")
	}
}
