package ttlwheel

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// startTimer makes the one timer the actor re-arms for its whole life; it
// fires by sending a tick through the actor system, so the wheel is only
// ever touched inside Receive.
func (a *wheelActor) startTimer(ctx actor.Context) {
	root, self := ctx.ActorSystem().Root, ctx.Self()
	a.timer = time.AfterFunc(time.Hour, func() { root.Send(self, tickMsg) })
	a.timer.Stop()
	a.armed = 0
}

// arm makes the timer fire at clock time at, unless it already fires sooner.
// A tick that comes early or late does no harm: check recomputes everything
// from the clock.
func (a *wheelActor) arm(at int64) {
	if a.timer == nil || (a.armed != 0 && a.armed <= at) {
		return
	}
	d := time.Duration(at - a.now())
	if d < time.Millisecond {
		d = time.Millisecond
	} else if d > a.maxNap {
		d = a.maxNap
	}
	a.armed = at
	a.timer.Reset(d)
}

func (a *wheelActor) disarm() {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.armed = 0
}
