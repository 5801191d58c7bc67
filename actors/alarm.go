package actors

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Alarm is the one timer an actor uses: when it rings it mails msg to the
// actor through the actor system, so the actor's state is still touched only
// inside Receive. A ring that arrives late or after a change of plan does no
// harm as long as the actor re-reads its clock when it gets msg.
//
// The lock guards only the alarm's own period against its own callback; no
// actor state is behind it.
type Alarm struct {
	mu    sync.Mutex
	t     *time.Timer
	every time.Duration // > 0 while repeating
}

// NewAlarm makes an alarm that sends msg to pid; it rings only once Set or
// Repeat is called.
func NewAlarm(root *actor.RootContext, pid *actor.PID, msg any) *Alarm {
	a := &Alarm{}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.t = time.AfterFunc(time.Hour, func() {
		root.Send(pid, msg)
		a.mu.Lock()
		if a.every > 0 {
			a.t.Reset(a.every)
		}
		a.mu.Unlock()
	})
	a.t.Stop()
	return a
}

// Set makes the alarm ring once, after d, replacing whatever it was set for.
func (a *Alarm) Set(d time.Duration) {
	a.mu.Lock()
	a.every = 0
	a.t.Reset(d)
	a.mu.Unlock()
}

// Repeat makes the alarm ring every d until Stop or Set.
func (a *Alarm) Repeat(d time.Duration) {
	a.mu.Lock()
	a.every = d
	a.t.Reset(d)
	a.mu.Unlock()
}

// Stop silences the alarm. A ring already on its way may still arrive.
func (a *Alarm) Stop() {
	a.mu.Lock()
	a.every = 0
	a.t.Stop()
	a.mu.Unlock()
}
