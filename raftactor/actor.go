package raftactor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	failed      error
	stopped     bool
	unwritable  *unwritable // set while the log cannot be written

	ids     reqIDs
	waiters map[uint64]*actors.Propose // proposed, keyed by Cmd.ReqID
	queued  []*actors.Propose          // waiting for a leader

	reads readQueue

	applied     uint64 // last index handed to the tree
	commitTerm  uint64 // term of the last entry handed to the tree
	snapIndex   uint64 // index of the latest durable snapshot
	snapAsked   bool   // a TakeSnapshot is out
	conf        confTrack
	confApplied bool // a membership change was applied in this Ready
	lead, term  uint64
	isLeader    bool
	leaderSince int64
	startTime   int64
	recvAppends uint64
	sendAppends uint64
}

// Props makes the raft actor for one member. Its only child, the log
// writer, is not restarted when it panics: its batch would be lost with it.
// It stops, and the raft actor, told so, fails the member.
func Props(cfg Config) *actor.Props {
	c := cfg.withDefaults()
	log := c.Log.With().Str("actor", "raft").Logger()
	return actor.PropsFromProducer(func() actor.Actor {
		return &raftActor{cfg: c, log: log}
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
		}
	case *Inbound:
		r.onInbound(m)
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
	case *actor.Started:
		r.start()
	case *actor.Stopping, *actor.Restarting:
		// A restart builds a fresh actor that reopens the log: this one
		// must let go of it and of everyone waiting on it.
		r.stop()
	}
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
	r.reads.init()
	if err := r.open(); err != nil {
		r.fail(err)
		return
	}
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

// open loads the log into raft's memory view, builds the RawNode and tells
// the tree where to start.
func (r *raftActor) open() error {
	dir := filepath.Join(r.cfg.DataDir, "member")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "raft.db")
	if err := r.verify(path); err != nil {
		return damaged(err)
	}
	store, st, err := openLogStore(dir, r.cfg.WALSegmentSize)
	if errors.Is(err, errCorruptLog) {
		return damaged(err)
	} else if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	if h := r.cfg.hooks; h != nil && h.opened != nil {
		h.opened(store)
	}
	r.mem = raft.NewMemoryStorage()
	fresh, err := r.loadMemory(st)
	if err == nil {
		// From here on the files are the writer's alone.
		r.writer, err = r.ctx.SpawnNamed(logWriterProps(r.cfg, r.ctx.Self(), store, st), "logwriter")
	}
	if err != nil {
		store.close()
		return err
	}
	rn, err := r.newRawNode(r.snapIndex)
	if err != nil {
		return err
	}
	r.rn = rn
	if fresh {
		peers := make([]raft.Peer, len(r.cfg.Peers))
		for i, id := range r.cfg.Peers {
			peers[i] = raft.Peer{ID: id}
		}
		if err := rn.Bootstrap(peers); err != nil {
			return err
		}
	}
	restore := &actors.Restore{Index: r.snapIndex, ServeAt: r.serveAt(st)}
	if st.snapshot != nil {
		restore.Term = st.snapshot.GetMetadata().GetTerm()
		restore.Data = st.snapshot.GetData()
	}
	r.send(r.cfg.PIDs.Tree, restore)
	r.log.Info().Str("id", actors.HexID(r.cfg.ID)).Bool("fresh", fresh).Uint64("snapshot", r.snapIndex).
		Uint64("term", r.term).Uint64("commit", r.hardState.GetCommit()).
		Int("entries", len(st.entries)).Uints64("voters", st.confState.GetVoters()).Msg("raft log loaded")
	return nil
}

func (r *raftActor) newRawNode(applied uint64) (*raft.RawNode, error) {
	return raft.NewRawNode(&raft.Config{
		ID:            r.cfg.ID,
		ElectionTick:  r.cfg.ElectionTicks,
		HeartbeatTick: r.cfg.HeartbeatTicks,
		Storage:       imageStorage{r.mem, r.snapshotImage},
		Applied:       applied,
		// The log writer makes appends durable while this actor goes on;
		// raft asks for writes as messages and hears back by responses.
		AsyncStorageWrites:        true,
		MaxSizePerMsg:             maxSizePerMsg,
		MaxInflightMsgs:           maxInflightMsgs,
		MaxUncommittedEntriesSize: maxUncommittedEntriesSize,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    raftLogger{r.log.With().Str("component", "raft").Logger()},
	})
}

// serveAt is the index the tree must reach before the member answers: the
// commit index on disk is written lazily (it rides along with the next
// batch), so it may lag what was acknowledged by the last batch. A lone voter
// committed everything it persisted, so it waits for its whole log, which
// its first election commits again; otherwise the commit on disk is the most
// this member knows was committed. The membership is the last one applied
// (stored beside the log): raft relearns it only by replaying the log.
func (r *raftActor) serveAt(st *logState) uint64 {
	cs := st.confState
	if cs == nil {
		cs = st.snapshot.GetMetadata().GetConfState()
	}
	if singleVoter(cs, r.cfg.ID) {
		last, _ := r.mem.LastIndex()
		return last
	}
	return max(r.hardState.GetCommit(), r.snapIndex)
}

// verify checks the log file before bbolt maps it: the meta pages and the
// length here, the rest by Config.VerifyFile when there is one.
func (r *raftActor) verify(path string) error {
	size, err := checkBoltFile(path)
	if err != nil || size == 0 || r.cfg.VerifyFile == nil {
		return err
	}
	return r.cfg.VerifyFile(path)
}

// damaged says what an operator can do about a log the member cannot trust.
func damaged(err error) error {
	return fmt.Errorf("%w; the member will not start on a damaged raft log: restore the data dir from a backup, "+
		"or give this member's data up by removing the data dir (in a cluster: remove the member and add it again)", err)
}

// loadMemory fills raft's memory view from the file and reports whether the
// member is new.
func (r *raftActor) loadMemory(st *logState) (fresh bool, err error) {
	ents := st.entries
	last := uint64(0)
	if st.snapshot != nil {
		if err := r.mem.ApplySnapshot(withoutImage(st.snapshot)); err != nil {
			return false, err
		}
		r.snapIndex = st.snapshot.GetMetadata().GetIndex()
		r.applied = r.snapIndex
		r.commitTerm = st.snapshot.GetMetadata().GetTerm()
		last = r.snapIndex
		// The slack behind the snapshot served slow followers of the last
		// run; raft's memory view starts at the snapshot.
		for len(ents) > 0 && ents[0].GetIndex() <= r.snapIndex {
			ents = ents[1:]
		}
	}
	r.conf.reset(st.snapshot.GetMetadata().GetConfState())
	if len(ents) > 0 {
		if ents[0].GetIndex() != last+1 {
			return false, fmt.Errorf("%w: log starts at %d after snapshot %d", errCorruptLog, ents[0].GetIndex(), last)
		}
		last = ents[len(ents)-1].GetIndex()
	}
	if hs := st.hardState; hs != nil {
		// The commit index is written lazily; everything in a snapshot is
		// committed, and nothing past the log can be.
		commit := max(hs.GetCommit(), r.snapIndex)
		if commit > last {
			return false, fmt.Errorf("%w: commit %d past the last entry %d", errCorruptLog, commit, last)
		}
		r.hardState = &raftpb.HardState{Term: new(hs.GetTerm()), Vote: new(hs.GetVote()), Commit: &commit}
		r.term = hs.GetTerm()
		if err := r.mem.SetHardState(r.hardState); err != nil {
			return false, err
		}
	}
	if err := r.mem.Append(ents); err != nil {
		return false, err
	}
	for _, e := range ents {
		if e.GetType() == raftpb.EntryNormal {
			r.ids.bumpPast(actors.PeekReqID(e.GetData()))
		}
	}
	return st.hardState == nil && st.snapshot == nil && len(st.entries) == 0, nil
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
	if r.rn != nil {
		st := r.rn.BasicStatus()
		s.Lead = st.Lead
		s.Term = st.GetTerm()
		s.Commit = st.GetCommit()
		s.IsLeader = st.RaftState == raft.StateLeader
	}
	actors.Answer(r.log, m.Done, m)
}

func (r *raftActor) onInbound(m *Inbound) {
	if !r.live() || m.Msg == nil {
		return
	}
	if m.Msg.GetType() == raftpb.MsgApp {
		r.recvAppends++
	}
	if err := r.rn.Step(m.Msg); err != nil {
		r.log.Debug().Err(err).Str("from", actors.HexID(m.Msg.GetFrom())).Str("type", m.Msg.GetType().String()).Msg("inbound raft message dropped")
		return
	}
	r.scheduleReady()
}

func singleVoter(cs *raftpb.ConfState, id uint64) bool {
	v := cs.GetVoters()
	return len(v) == 1 && v[0] == id && len(cs.GetVotersOutgoing()) == 0
}
