package treeactor

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Deps is what the tree actor needs from the member.
type Deps struct {
	PIDs actors.PIDs // Hub, Wheel and Raft are used; a nil PID means nobody listens
	Log  zerolog.Logger
	// Fail stops the member: the tree met a command it cannot apply or a
	// snapshot it cannot read, and going on would let replicas diverge.
	Fail func(error)
	// History is how many of its last events the tree keeps in its
	// snapshots for the hub (the watch history's size; 0: none).
	History int
	// Serving is called once, from the tree's goroutine, when the tree has
	// applied the Restore's ServeAt index and sent the hub its events: from
	// then on a read or a watch sees at least what the member acknowledged
	// before it stopped.
	Serving func()
	// Metrics is where the tree registers its etcd_debugging_store_*
	// counters (the member's registry); nil: nowhere.
	Metrics prometheus.Registerer
}

// Props makes the tree actor's props.
func Props(d Deps) *actor.Props {
	// Registered once: an actor built again counts on.
	m := newMetrics(d.Metrics)
	return actor.PropsFromProducer(func() actor.Actor { return newTreeActor(d, m) })
}

type treeActor struct {
	deps    Deps
	store   *Store
	applied uint64 // raft index of the last entry applied
	term    uint64 // and its term
	// hubApplied is the raft index the hub was last told of.
	hubApplied uint64
	failed     error // once set the tree applies nothing more and answers 300
	// deadline is the earliest deadline last told to the timer actor.
	deadline int64
	// serveAt is the index to reach before the member serves; served once
	// Serving was called.
	serveAt uint64
	served  bool
	m       *storeMetrics
}

func newTreeActor(d Deps, m *storeMetrics) *treeActor {
	s := NewStore()
	s.SetJournal(true)
	s.KeepEvents(d.History)
	s.countInto(m)
	return &treeActor{deps: d, store: s, m: m}
}

// Receive never lets a panic escape: protoactor would restart the actor with
// an empty tree, silently. A panic stops the member instead.
func (a *treeActor) Receive(ctx actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			a.store.Drain() // whatever the broken step recorded is void
			a.stop(fmt.Errorf("treeactor: panic: %v", r))
		}
	}()
	switch m := ctx.Message().(type) {
	case *actors.Read:
		a.read(m)
	case *actors.Committed:
		a.commit(ctx, m)
	case *actors.Restore:
		a.restore(ctx, m)
	case *actors.TakeSnapshot:
		a.snapshot(ctx, m.Prefix)
	case *actors.StoreStatsAsk:
		m.Stats = a.store.Stats()
		actors.Answer(a.deps.Log, m.Done, m)
	}
}

// read looks the key up and counts the get; the asker renders the body from
// the view, so the tree goes on applying meanwhile.
func (a *treeActor) read(r *actors.Read) {
	if a.failed != nil {
		r.Err = a.refusal()
	} else if r.Backup {
		r.Image = a.store.Freeze()
	} else if r.Found, r.Err = a.store.Find(r.Path, r.Recursive); r.Err == nil {
		r.View = a.store.View()
	}
	r.EtcdIndex = a.store.Index()
	r.RaftIndex, r.RaftTerm = a.applied, a.term
	actors.Answer(a.deps.Log, r.Done, r)
}

// commit applies a batch in log order. The batch's events reach the hub
// before any waiter hears its answer, so a client that watches right after
// its write finds the write in the hub's history.
func (a *treeActor) commit(ctx actor.Context, m *actors.Committed) {
	for i := range m.Entries {
		e := &m.Entries[i]
		w := e.Waiter
		switch {
		case a.failed != nil:
			if w != nil {
				w.Err = a.refusal()
			}
			continue
		case e.Index <= a.applied:
			// Already in the tree (a restored snapshot covers it): its result
			// is gone, so a waiter cannot be told what it was.
			if w != nil {
				w.Err = actors.NewError(actors.EcodeRaftInternal, "entry already applied", a.store.Index())
			}
			continue
		}
		var ev *actors.Event
		var err *actors.Error
		if c := e.Cmd; c != nil {
			if c.Op < actors.OpSet || c.Op > actors.OpExpire {
				a.stop(fmt.Errorf("%w: op %d at raft index %d", actors.ErrUnknownOp, c.Op, e.Index))
				if w != nil {
					w.Err = a.refusal()
				}
				continue
			}
			ev, err = a.store.Apply(c)
		}
		a.applied, a.term = e.Index, e.Term
		if w != nil {
			w.Event, w.Err = ev, err
		}
	}
	a.flush(ctx)
	a.maybeServe()
	for i := range m.Entries {
		e := &m.Entries[i]
		if w := e.Waiter; w != nil {
			w.RaftIndex, w.RaftTerm = e.Index, e.Term
			actors.Answer(a.deps.Log, w.Done, w)
		}
	}
}

// flush sends what the batch changed: its events to the hub in one message,
// and the tree's earliest deadline to the timer actor if the batch moved it.
// A batch without events (a new leader's empty entry, a member's publish)
// still moves the raft position the hub answers watches with: after a
// restart, the first is how the hub learns the new term.
func (a *treeActor) flush(ctx actor.Context) {
	evs := a.store.Drain()
	if hub := a.deps.PIDs.Hub; hub != nil && (len(evs) > 0 || a.applied != a.hubApplied) {
		ctx.Send(hub, &actors.Events{List: evs, RaftIndex: a.applied, RaftTerm: a.term})
		a.hubApplied = a.applied
	}
	if at := a.store.NextDeadline(); at != a.deadline {
		a.tellDeadline(ctx, at, false)
	}
}

func (a *treeActor) tellDeadline(ctx actor.Context, at int64, restored bool) {
	a.deadline = at
	if wheel := a.deps.PIDs.Wheel; wheel != nil {
		ctx.Send(wheel, &actors.NextDeadline{At: at, Restored: restored})
	}
}

func (a *treeActor) restore(ctx actor.Context, m *actors.Restore) {
	s, err := RestoreStore(m.Data)
	if err != nil {
		a.stop(fmt.Errorf("restore at raft index %d: %w", m.Index, err))
		return
	}
	s.SetJournal(true)
	s.KeepEvents(a.deps.History)
	s.countInto(a.m)
	a.store = s
	a.applied, a.term = m.Index, m.Term
	a.hubApplied = m.Index // the Reset below tells the hub
	a.deps.Log.Info().Uint64("raftIndex", m.Index).Uint64("etcdIndex", s.Index()).
		Int("keys", s.Len()).Int("deadlines", len(s.ttl)).Msg("tree restored")
	if hub := a.deps.PIDs.Hub; hub != nil {
		ctx.Send(hub, &actors.Reset{EtcdIndex: s.Index(), RaftIndex: m.Index, RaftTerm: m.Term,
			Snapshot: len(m.Data) > 0, History: s.RecentEvents()})
	}
	a.tellDeadline(ctx, s.NextDeadline(), true)
	a.serveAt = m.ServeAt
	a.maybeServe()
}

// maybeServe reports, once, that the tree has caught up with what the member
// had acknowledged. It runs after the batch's events went to the hub, so a
// watch registered after it finds them there.
func (a *treeActor) maybeServe() {
	if a.served || a.failed != nil || a.applied < a.serveAt {
		return
	}
	a.served = true
	a.deps.Log.Info().Uint64("raftIndex", a.applied).Uint64("etcdIndex", a.store.Index()).Msg("tree caught up: member may serve")
	if a.deps.Serving != nil {
		a.deps.Serving()
	}
}

// snapshot freezes the tree (which costs nothing) and serializes it on a
// goroutine of its own, whose only output is the Snapshot it mails to the
// raft actor: the tree goes on applying and answering meanwhile.
func (a *treeActor) snapshot(ctx actor.Context, prefix []byte) {
	if a.failed != nil {
		a.deps.Log.Warn().Err(a.failed).Msg("no snapshot of a stopped tree")
		return
	}
	raft := a.deps.PIDs.Raft
	if raft == nil {
		return
	}
	f, index, log, root, fail := a.store.Freeze(), a.applied, a.deps.Log, ctx.ActorSystem().Root, a.deps.Fail
	go func() {
		defer func() {
			// Out of the actor's reach: a panic here stops the member
			// with its reason, rather than the process without one.
			if p := recover(); p != nil {
				err := fmt.Errorf("treeactor: panic serializing the snapshot at raft index %d: %v", index, p)
				log.Error().Err(err).Msg("tree snapshot failed")
				if fail != nil {
					fail(err)
				}
			}
		}()
		data := f.AppendTo(prefix)
		log.Info().Uint64("raftIndex", index).Int("bytes", len(data)).Msg("tree snapshot")
		root.Send(raft, &actors.Snapshot{Index: index, Data: data})
	}()
}

// stop records the first fatal error and asks the member to stop.
func (a *treeActor) stop(err error) {
	if a.failed != nil {
		return
	}
	a.failed = err
	a.deps.Log.Error().Err(err).Uint64("raftIndex", a.applied).Msg("tree stopped")
	if a.deps.Fail != nil {
		a.deps.Fail(err)
	}
}

func (a *treeActor) refusal() *actors.Error {
	return actors.NewError(actors.EcodeRaftInternal, "tree stopped: "+a.failed.Error(), a.store.Index())
}
