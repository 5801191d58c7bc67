package ttlwheel

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
)

// check advances the wheel to the clock, proposes a sweep if one is owed, and
// sets the timer for the next moment something can change. Followers neither
// advance nor tick: becoming leader runs a check at once.
func (a *wheelActor) check(ctx actor.Context) {
	if !a.leader {
		a.disarm()
		return
	}
	now := a.now()
	if a.w.Advance(now) > 0 {
		if retry, ok := a.owed(now); ok {
			a.propose(ctx, now, retry)
		}
	}
	a.schedule(now)
}

// owed says whether due deadlines need a sweep now: the first of a
// leadership, one for deadlines that fell due after the last sweep's stamp
// (no sooner than MinGap after it), or a retry when the tree has not
// confirmed within RetryAfter.
func (a *wheelActor) owed(now int64) (retry, ok bool) {
	if a.sentAt == 0 || now < a.sentAt {
		return false, true
	}
	since := now - a.sentAt
	if since >= int64(RetryAfter) {
		return true, true
	}
	return false, since >= int64(MinGap) && a.w.MaxDue() > a.covered
}

func (a *wheelActor) propose(ctx actor.Context, now int64, retry bool) {
	a.sentAt, a.covered = now, now
	if retry {
		a.log.Info().Int64("now", now).Int("due", a.w.Due()).Msg("expire sweep unconfirmed, proposing again")
	} else {
		a.log.Debug().Int64("now", now).Int("due", a.w.Due()).Msg("propose expire sweep")
	}
	if a.raft != nil {
		ctx.Send(a.raft, &actors.ProposeExpire{Now: now})
	}
}

// schedule sets the timer for the end of the next non-empty slot, or, while
// deadlines wait for the tree's confirmation, for the retry if that is
// sooner; never sooner than MinGap after the last sweep while some are due.
// With no deadline left the timer stays off.
func (a *wheelActor) schedule(now int64) {
	wake, ok := a.w.NextWake()
	if a.w.Due() > 0 {
		if r := a.sentAt + int64(RetryAfter); !ok || r < wake {
			wake, ok = r, true
		}
		if g := a.sentAt + int64(MinGap); wake < g {
			wake = g
		}
	}
	if !ok {
		a.disarm()
		return
	}
	a.arm(wake)
}
