package watchhub

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Deps is what the hub actor needs from the member.
type Deps struct {
	Log         zerolog.Logger
	HistorySize int // events kept for watchers (--watch-history); 0: DefaultHistorySize
	// Metrics is where the hub registers its etcd_debugging_store_watch*
	// metrics (the member's registry); nil: nowhere.
	Metrics prometheus.Registerer
}

// retry is the hub's own alarm: lagging streams get another chance even when
// no batch arrives.
type retry struct{}

var retryMsg = &retry{}

// MinRetryInterval is the first retry's delay after a stream starts lagging
// or after a retry delivered something: its reader is draining. Each retry
// that finds every lagging sink still full doubles the delay, up to
// RetryInterval, so stuck readers cost little.
const MinRetryInterval = time.Millisecond

// Props makes the hub actor.
func Props(d Deps) *actor.Props {
	m := newMetrics(d.Metrics) // once: an actor built again counts on
	return actor.PropsFromProducer(func() actor.Actor { return newHubActor(d, m) })
}

// hubActor feeds the hub its messages and owns the retry timer.
type hubActor struct {
	hub   *Hub
	log   zerolog.Logger
	alarm *actors.Alarm
	armed bool // the timer will send retry
	delay time.Duration
	m     *metrics
}

func newHubActor(d Deps, m *metrics) *hubActor {
	return &hubActor{hub: New(d.Log, d.HistorySize), log: d.Log, delay: MinRetryInterval, m: m}
}

// Receive handles the hub's messages.
func (a *hubActor) Receive(ctx actor.Context) {
	before := a.hub.refilled
	switch m := ctx.Message().(type) {
	case *actors.Events:
		a.hub.SetRaft(m.RaftIndex, m.RaftTerm)
		a.hub.Apply(m.List)
	case *actors.Watch:
		a.m.requests.Inc()
		a.hub.Watch(m)
	case *actors.Unwatch:
		a.hub.Unwatch(m.ID)
	case *actors.LeaderLost:
		a.hub.SetLeaderLost(m.Lost)
	case *actors.WatcherCountAsk:
		m.Count = uint64(a.hub.Count())
		actors.Answer(a.log, m.Done, m)
	case *actors.Reset:
		a.hub.SetRaft(m.RaftIndex, m.RaftTerm)
		if m.Snapshot {
			a.hub.Restore(m.EtcdIndex, m.History)
		} else {
			a.hub.Reset(m.EtcdIndex)
		}
	case *retry:
		a.armed = false
		if a.hub.Retry() == 0 {
			a.delay = min(2*a.delay, RetryInterval)
		}
	case *actor.Stopping:
		if a.alarm != nil {
			a.alarm.Stop()
		}
		return
	default:
		return
	}
	a.m.watchers.Set(float64(a.hub.Count()))
	a.schedule(ctx, a.hub.refilled != before)
}

// schedule arranges the next retry while some stream lags: soon if this
// message's work reached a lagging stream, else after the current delay.
func (a *hubActor) schedule(ctx actor.Context, moved bool) {
	if a.hub.Lagging() == 0 {
		a.delay = MinRetryInterval
		return
	}
	if moved {
		a.delay = MinRetryInterval
	} else if a.armed {
		return
	}
	a.armed = true
	if a.alarm == nil {
		a.alarm = actors.NewAlarm(ctx.ActorSystem().Root, ctx.Self(), retryMsg)
	}
	a.alarm.Set(a.delay)
}
