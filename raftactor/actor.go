package raftactor

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// readyCheck is the actor's note to itself that raft may have work; sent at
// most once until handled, so everything queued before it is batched.
type readyCheck struct{}

var readyCheckMsg = &readyCheck{}

// raftActor owns the RawNode, raft's memory view and every request waiting
// on either; the log's files belong to its child, the log writer. All its
// state is touched only from its Receive.
type raftActor struct {
	cfg Config
	log zerolog.Logger
	m   *raftMetrics
	ctx actor.Context // valid during Receive only

	writer *actor.PID // the log writer, which owns the files
	mem    *raft.MemoryStorage
	rn     *raft.RawNode
	// ticks drives raft's logical clock by mailing the actor a Tick every
	// TickInterval: raft itself never reads a clock.
	ticks *actors.Alarm

	// hardState is raft's latest. It is held (not sent to the writer yet)
	// while only its commit index moved and nobody waits for it: it goes
	// with the next request, sparing the writer a message per write.
	hardState *raftpb.HardState
	hsHeld    bool
	// image is the stored snapshot's image, read back by the writer for raft
	// to send a follower; imageAsked while the read is out.
	image      *snapshotRead
	imageAsked bool

	readyQueued bool
	appendsOut  int // appendLogs the writer has not answered
	failed      error
	stopped     bool
	unwritable  *unwritable // set while the log cannot be written

	ids     reqIDs
	waiters map[uint64]*actors.Propose      // proposed, keyed by Cmd.ReqID
	changes map[uint64]*actors.MemberChange // proposed, keyed by the context's ReqID

	self        actors.Member       // this member as its flags say (to publish)
	peerURLs    map[uint64][]string // the peers the transport knows
	publishedAt int64               // the last time self was published
	removed     bool                // this member applied its own removal
	refused     map[uint64]bool     // removed members the transport refuses
	// membersDirty: a change was applied in this Ready; the transport and
	// the rest hear of it once the batch is (membersChanged).
	membersDirty bool
	queued       []*actors.Propose // waiting for a leader
	queuedAt     []int64           // when each arrived (unix ns)

	reads    readQueue
	noLeader leaderWatch

	applied     uint64 // last index handed to the tree
	commitTerm  uint64 // term of the last entry handed to the tree
	snapIndex   uint64 // index of the latest durable snapshot
	snapAsked   bool   // a TakeSnapshot is out
	snapAskedAt uint64 // the index it was asked at
	treeImage   []byte // the tree's part of the snapshot opened, until the Restore
	conf        confTrack
	confApplied bool // a membership change was applied in this Ready
	lead, term  uint64
	isLeader    bool
	leaderSince int64
	startTime   int64
	recvAppends uint64
	sendAppends uint64
	stats       leaderStats // while leader
	recvRates   appendRates
	sendRates   appendRates
}

// Props makes the raft actor for one member. Its only child, the log
// writer, is not restarted when it panics: its batch would be lost with it.
// It stops, and the raft actor, told so, fails the member.
func Props(cfg Config) *actor.Props {
	c := cfg.withDefaults()
	log := c.Log.With().Str("actor", "raft").Logger()
	// Made once: an actor built again must not register them twice.
	m := newRaftMetrics(c.Metrics)
	c.disk = newDiskMetrics(c.Metrics)
	return actor.PropsFromProducer(func() actor.Actor {
		return &raftActor{cfg: c, log: log, m: m}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(0, 0, func(reason any) actor.Directive {
		log.Error().Interface("reason", reason).Msg("log writer crashed")
		return actor.StopDirective
	})))
}

func (r *raftActor) Receive(ctx actor.Context) {
	r.ctx = ctx
	switch m := ctx.Message().(type) {
	case *readyCheck:
		r.readyQueued = false
		r.runReady()
	case *actors.Propose:
		r.onPropose(m)
	case *actors.Tick:
		if r.unwritable != nil {
			r.retryWrite()
		} else if r.live() {
			r.rn.Tick()
			if r.rn.HasReady() {
				r.scheduleReady()
			}
			r.watchLeader()
			r.maybePublish()
			r.retryRounds()
			r.expireQueued()
		}
	case *Inbound:
		r.onInbound(m)
	case *PeerUnreachable:
		if r.live() {
			r.rn.ReportUnreachable(m.ID)
			r.stats.unreachable(m.ID)
		}
	case *SnapshotSent:
		r.onSnapshotSent(m)
	case *RemovedByPeer:
		r.selfRemoved("a peer refused this member as removed")
	case *logWritten:
		r.onLogWritten(m)
	case *logFailed:
		r.cannotWrite(m)
	case *logReopened:
		r.onLogReopened(m)
	case *snapshotSaved:
		r.onSnapshotSaved(m)
	case *snapshotRead:
		r.onSnapshotRead(m)
	case *actor.Terminated:
		if r.writer != nil && m.Who.Equal(r.writer) && !r.stopped {
			r.writer = nil
			r.fail(errors.New("the raft log writer stopped"))
		}
	case *actors.Read:
		r.onRead(m)
	case *actors.ProposeExpire:
		r.onProposeExpire(m)
	case *actors.Snapshot:
		r.onSnapshot(m)
	case *actors.StatusAsk:
		r.onStatus(m)
	case *actors.RaftStatusAsk:
		r.onRaftStatus(m)
	case *actors.MemberChange:
		r.onMemberChange(m)
	case *actor.Started:
		r.start()
	case *actor.Stopping, *actor.Restarting:
		// A restart builds a fresh actor that reopens the log: this one
		// must let go of it and of everyone waiting on it.
		r.stop()
	}
	// Whatever the message was, the count is current after it.
	r.m.pending.Set(float64(len(r.waiters) + len(r.queued)))
	r.ctx = nil
}

// live reports whether raft may be driven.
func (r *raftActor) live() bool { return r.failed == nil && !r.stopped && r.rn != nil }

func (r *raftActor) scheduleReady() {
	if !r.readyQueued {
		r.readyQueued = true
		r.ctx.Send(r.ctx.Self(), readyCheckMsg)
	}
}

func (r *raftActor) send(pid *actor.PID, msg any) {
	if pid != nil {
		r.ctx.Send(pid, msg)
	}
}

// fail stops driving raft and asks for the member to stop: going on past a
// disk error or an entry this build cannot apply would let replicas diverge.
func (r *raftActor) fail(err error) {
	if r.failed != nil {
		return
	}
	r.failed = err
	r.log.Error().Err(err).Msg("raft member failed")
	if r.cfg.Fail != nil {
		r.cfg.Fail(err)
	}
}

func (r *raftActor) start() {
	r.startTime = time.Now().UnixNano()
	r.ids = newReqIDs(r.cfg.ID, time.Now())
	r.waiters = make(map[uint64]*actors.Propose)
	r.changes = make(map[uint64]*actors.MemberChange)
	r.peerURLs = make(map[uint64][]string)
	r.refused = make(map[uint64]bool)
	r.self, _ = r.cfg.initial().find(r.cfg.ID)
	r.reads.init()
	if err := r.open(); err != nil {
		r.fail(err)
		return
	}
	// The peers as the snapshot says; the replay below may change them.
	r.membersChanged()
	r.ticks = actors.NewAlarm(r.ctx.ActorSystem().Root, r.ctx.Self(), &actors.Tick{})
	r.ticks.Repeat(r.cfg.TickInterval)
	// Whatever was committed before the restart goes to the tree now, right
	// after the Restore, before any request is looked at.
	r.runReady()
	if h := r.cfg.hooks; h != nil && h.replayed != nil {
		h.replayed()
	}
	r.campaignIfAlone()
}

// campaignIfAlone starts an election at once when this member is the only
// voter: it wins alone, so there is no point sitting out an election timeout
// first. The membership is known only once its entries are applied, which
// with asynchronous writes may be after start (a new member's bootstrap
// entries become durable, and applied, after the writer's first sync), so
// this runs again whenever a membership change has been applied.
func (r *raftActor) campaignIfAlone() {
	if !r.live() || r.lead != 0 || !singleVoter(r.conf.current(), r.cfg.ID) {
		return
	}
	if st := r.rn.BasicStatus(); st.RaftState != raft.StateFollower {
		return // already campaigning
	}
	if err := r.rn.Campaign(); err != nil {
		r.log.Warn().Err(err).Msg("campaign")
	}
	r.scheduleReady()
}

func (r *raftActor) stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	if r.ticks != nil {
		r.ticks.Stop()
	}
	r.failWaiters(actors.EcodeRaftInternal, "etcdserver: server stopped")
	r.failReads("etcdserver: server stopped")
	if r.writer == nil {
		return
	}
	// The one wait on the disk: the files must be closed (and the commit
	// index written, on a clean stop) before a restart may reopen them.
	req := &closeLog{writeHardState: r.failed == nil, hardState: r.heldHardState()}
	if _, err := r.ctx.RequestFuture(r.writer, req, closeTimeout).Result(); err != nil {
		r.log.Error().Err(err).Msg("close raft log")
	}
	r.writer = nil
}

// closeTimeout bounds the wait for the log writer on stop: a disk that
// hangs must not hang the member's shutdown with it.
const closeTimeout = 30 * time.Second

func (r *raftActor) onStatus(m *actors.StatusAsk) {
	s := &m.Status
	s.ID = r.cfg.ID
	s.StartTime = r.startTime
	s.LeaderSince = r.leaderSince
	s.Applied = r.applied
	s.RecvAppendRequestCnt = r.recvAppends
	s.SendAppendRequestCnt = r.sendAppends
	now := time.Now().UnixNano()
	s.RecvPkgRate, s.RecvBandwidthRate = r.recvRates.rates(now)
	s.SendPkgRate, s.SendBandwidthRate = r.sendRates.rates(now)
	mem := r.conf.members()
	s.Members, s.Removed = mem.Members, mem.Removed
	if r.isLeader {
		s.Followers = r.stats.copy()
	}
	if r.rn != nil {
		st := r.rn.BasicStatus()
		s.Lead = st.Lead
		s.Term = st.GetTerm()
		s.Commit = st.GetCommit()
		s.IsLeader = st.RaftState == raft.StateLeader
	}
	actors.Answer(r.log, m.Done, m)
}

func (r *raftActor) onRaftStatus(m *actors.RaftStatusAsk) {
	m.JSON = []byte("null")
	if r.rn != nil {
		if b, err := r.rn.Status().MarshalJSON(); err == nil {
			m.JSON = b
		}
	}
	actors.Answer(r.log, m.Done, m)
}

func (r *raftActor) onInbound(m *Inbound) {
	if !r.live() || m.Msg == nil {
		return
	}
	switch m.Msg.GetType() {
	case raftpb.MsgApp:
		r.recvAppends++
		r.recvRates.add(time.Now().UnixNano(), appendSize(m.Msg))
	case raftpb.MsgAppResp:
		if r.isLeader {
			r.stats.answered(m.Msg)
		}
	}
	if err := r.rn.Step(m.Msg); err != nil {
		r.log.Debug().Err(err).Str("from", actors.HexID(m.Msg.GetFrom())).Str("type", m.Msg.GetType().String()).Msg("inbound raft message dropped")
		return
	}
	r.scheduleReady()
}

// watchLeader warns, boundedly, when the member has had no leader for a few
// election timeouts: most often a quorum of its cluster is out of reach. The
// watch hub hears of it then, and again when a leader is back: a member
// without a leader ends its watches rather than leave them hanging.
func (r *raftActor) watchLeader() {
	grace := 3 * time.Duration(r.cfg.ElectionTicks) * r.cfg.TickInterval
	warn, changed := r.noLeader.tick(time.Now(), r.lead != 0, grace)
	if changed {
		r.log.Info().Bool("lost", r.noLeader.lost).Dur("grace", grace).Msg("watches told of the leader")
		r.send(r.cfg.PIDs.Hub, &actors.LeaderLost{Lost: r.noLeader.lost})
	}
	if warn {
		r.log.Warn().Uint64("term", r.term).Strs("voters", actors.HexIDs(r.conf.current().GetVoters())).
			Dur("since", time.Since(r.noLeader.since)).
			Msg("no leader: this member cannot reach a quorum of its cluster (are the others up, and is --initial-cluster the same on each?)")
	}
}

func (r *raftActor) onSnapshotSent(m *SnapshotSent) {
	if !r.live() {
		return
	}
	status := raft.SnapshotFinish
	if !m.OK {
		status = raft.SnapshotFailure
	}
	r.rn.ReportSnapshot(m.ID, status)
	r.scheduleReady()
}

func singleVoter(cs *raftpb.ConfState, id uint64) bool {
	v := cs.GetVoters()
	return len(v) == 1 && v[0] == id && len(cs.GetVotersOutgoing()) == 0
}
