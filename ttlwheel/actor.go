package ttlwheel

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/rs/zerolog"
)

const (
	// DefaultResolution is the slot size: a deadline is seen at most this
	// late by a ticking leader, well inside the 100 ms we promise.
	DefaultResolution = 10 * time.Millisecond
	// DefaultSlots makes one revolution about 41 s at the default resolution.
	DefaultSlots = 4096
	// MinGap is the least time between two sweeps: one sweep covers every
	// deadline at or before its stamp, so proposing faster only spends
	// raft entries.
	MinGap = 20 * time.Millisecond
	// RetryAfter is how long a due deadline may stay unconfirmed by the tree
	// before the sweep is taken as lost and proposed again.
	RetryAfter = 200 * time.Millisecond
)

// Deps is what the wheel actor needs from the member.
type Deps struct {
	PIDs       actors.PIDs // Raft receives ProposeExpire; nil = nobody listens
	Log        zerolog.Logger
	Now        func() int64  // unix nanoseconds; default time.Now().UnixNano
	Resolution time.Duration // slot size; default DefaultResolution
}

// tick is the wheel's own alarm, sent by its timer (or by tests).
type tick struct{}

var tickMsg = &tick{}

// Props makes the wheel actor.
func Props(d Deps) *actor.Props {
	if d.Now == nil {
		d.Now = func() int64 { return time.Now().UnixNano() }
	}
	if d.Resolution <= 0 {
		d.Resolution = DefaultResolution
	}
	return actor.PropsFromProducer(func() actor.Actor { return newWheelActor(d) })
}

// wheelActor owns the wheel and decides when the leader sweeps.
type wheelActor struct {
	w      *Wheel
	raft   *actor.PID
	log    zerolog.Logger
	now    func() int64
	maxNap time.Duration

	leader bool
	term   uint64
	// sentAt is the stamp of the last sweep proposed in this leadership (0:
	// none); covered is the latest deadline that sweep is known to cover, 0
	// when nothing is (after a restore the old sweep's reach is unknown).
	sentAt  int64
	covered int64

	timer *time.Timer
	armed int64 // clock time the timer is set for; 0 when idle
}

func newWheelActor(d Deps) *wheelActor {
	return &wheelActor{
		w:      NewWheel(d.Resolution, DefaultSlots, d.Now()),
		raft:   d.PIDs.Raft,
		log:    d.Log,
		now:    d.Now,
		maxNap: d.Resolution * DefaultSlots,
	}
}

// Receive handles the wheel's messages.
func (a *wheelActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.ExpiryHint:
		a.w.Add(m.Path, m.At)
		if a.leader && m.At > 0 {
			a.arm(m.At) // Advance sees a deadline exactly at it
		}
	case *tick:
		a.armed = 0
		a.check(ctx)
	case *actors.LeaderChanged:
		a.leaderChanged(ctx, m)
	case *actors.ForgetDeadlines:
		a.w.Reset()
		a.covered = 0
	case *actor.Started:
		a.startTimer(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.disarm()
	}
}

func (a *wheelActor) leaderChanged(ctx actor.Context, m *actors.LeaderChanged) {
	was := a.leader
	a.leader = m.IsLeader
	newTerm := m.Term != a.term
	a.term = m.Term
	if !m.IsLeader {
		if was {
			a.log.Debug().Uint64("term", m.Term).Uint64("lead", m.Lead).Msg("not leader: expiry sweeps stop")
		}
		a.disarm()
		return
	}
	if was && !newTerm {
		return
	}
	// A new leadership owes nothing to sweeps proposed in an earlier one.
	a.sentAt, a.covered = 0, 0
	a.log.Debug().Uint64("term", m.Term).Int("deadlines", a.w.Len()).Msg("leader: expiry sweeps start")
	a.check(ctx)
}
