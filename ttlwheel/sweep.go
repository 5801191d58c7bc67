package ttlwheel

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
)

// check proposes a sweep if one is owed and sets the alarm for the next
// moment something can change. A follower neither proposes nor wakes:
// becoming leader runs a check at once.
func (a *timerActor) check(ctx actor.Context) {
	if !a.leader || a.next == 0 {
		a.disarm()
		return
	}
	now := a.now()
	if a.next <= now {
		if retry, ok := a.owed(now); ok {
			a.propose(ctx, now, retry)
		}
	}
	a.schedule(now)
}

// owed says, with the earliest deadline due, whether a sweep is needed now:
// the first of a leadership, one for a deadline past the last sweep's reach
// (no sooner than MinGap after it), or a retry when the tree has not
// confirmed within RetryAfter.
func (a *timerActor) owed(now int64) (retry, ok bool) {
	if a.sentAt == 0 || now < a.sentAt {
		return false, true
	}
	since := now - a.sentAt
	if since >= int64(RetryAfter) {
		return true, true
	}
	return false, since >= int64(MinGap) && a.next > a.covered
}

func (a *timerActor) propose(ctx actor.Context, now int64, retry bool) {
	a.sentAt, a.covered = now, now
	if retry {
		a.log.Info().Int64("now", now).Int64("next", a.next).Msg("expire sweep unconfirmed, proposing again")
	} else {
		a.log.Debug().Int64("now", now).Msg("propose expire sweep")
	}
	if a.raft != nil {
		ctx.Send(a.raft, &actors.ProposeExpire{Now: now})
	}
}

// schedule sets the alarm for the earliest deadline if it is still ahead;
// with it due and a sweep sent, for the retry if the sweep covers it, else
// for the end of the gap after the last sweep.
func (a *timerActor) schedule(now int64) {
	wake := a.next
	if a.next <= now {
		if a.next <= a.covered {
			wake = a.sentAt + int64(RetryAfter)
		} else {
			wake = a.sentAt + int64(MinGap)
		}
	}
	a.arm(wake)
}

// arm makes the alarm ring at clock time at, unless it already rings sooner.
// A ring that comes early or late does no harm: check recomputes everything
// from the clock.
func (a *timerActor) arm(at int64) {
	if a.alarm == nil || (a.armed != 0 && a.armed <= at) {
		return
	}
	a.armed = at
	a.alarm.Set(max(time.Duration(at-a.now()), time.Millisecond))
}

func (a *timerActor) disarm() {
	if a.alarm != nil {
		a.alarm.Stop()
	}
	a.armed = 0
}
