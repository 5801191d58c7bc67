package ttlwheel

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/rs/zerolog"
)

const (
	// MinGap is the least time between two sweeps: one sweep covers every
	// deadline at or before its stamp, so proposing faster only spends
	// raft entries.
	MinGap = 20 * time.Millisecond
	// RetryAfter is how long a due deadline may stay unconfirmed by the tree
	// before the sweep is taken as lost and proposed again.
	RetryAfter = 200 * time.Millisecond
)

// Deps is what the timer actor needs from the member.
type Deps struct {
	PIDs actors.PIDs // Raft receives ProposeExpire; nil = nobody listens
	Log  zerolog.Logger
	Now  func() int64 // unix nanoseconds; default time.Now().UnixNano
}

// tick is the actor's own alarm, sent by its Alarm (or by tests).
type tick struct{}

var tickMsg = &tick{}

// Props makes the timer actor.
func Props(d Deps) *actor.Props {
	if d.Now == nil {
		d.Now = func() int64 { return time.Now().UnixNano() }
	}
	return actor.PropsFromProducer(func() actor.Actor { return newTimerActor(d) })
}

// timerActor decides when the leader sweeps.
type timerActor struct {
	raft *actor.PID
	log  zerolog.Logger
	now  func() int64

	// next is the tree's earliest deadline (0: none), as last told.
	next   int64
	leader bool
	term   uint64
	// sentAt is the stamp of the last sweep proposed in this leadership (0:
	// none); covered is the latest deadline that sweep is known to cover, 0
	// when nothing is (after a restore the old sweep's reach is unknown).
	sentAt  int64
	covered int64

	alarm *actors.Alarm
	armed int64 // clock time the alarm is set for; 0 when idle
}

func newTimerActor(d Deps) *timerActor {
	return &timerActor{raft: d.PIDs.Raft, log: d.Log, now: d.Now}
}

// Receive handles the timer's messages.
func (a *timerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.NextDeadline:
		a.next = m.At
		if m.Restored {
			a.covered = 0
		}
		a.check(ctx)
	case *tick:
		a.armed = 0
		a.check(ctx)
	case *actors.LeaderChanged:
		a.leaderChanged(ctx, m)
	case *actor.Started:
		a.alarm = actors.NewAlarm(ctx.ActorSystem().Root, ctx.Self(), tickMsg)
	case *actor.Stopping, *actor.Restarting:
		a.disarm()
	}
}

func (a *timerActor) leaderChanged(ctx actor.Context, m *actors.LeaderChanged) {
	was := a.leader
	a.leader = m.IsLeader
	newTerm := m.Term != a.term
	a.term = m.Term
	if !m.IsLeader {
		if was {
			a.log.Debug().Uint64("term", m.Term).Str("lead", actors.HexID(m.Lead)).Msg("not leader: expiry sweeps stop")
		}
		a.disarm()
		return
	}
	if was && !newTerm {
		return
	}
	// A new leadership owes nothing to sweeps proposed in an earlier one.
	a.sentAt, a.covered = 0, 0
	a.log.Debug().Uint64("term", m.Term).Int64("next", a.next).Msg("leader: expiry sweeps start")
	a.check(ctx)
}
