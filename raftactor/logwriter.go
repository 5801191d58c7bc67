package raftactor

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// logWriter is the log's only owner once the raft actor has opened it: a
// child actor that makes raft's appends, the snapshots and the membership
// durable, so that the raft actor never waits on the disk. While one batch
// syncs, the next requests gather in its mailbox; the first of them mails
// the writer a flushLog, which the mailbox delivers after all of them, so
// everything that queued during a sync shares the next one (group commit
// without a timer). After each sync one logWritten tells the raft actor what
// became durable.
//
// A failed write is reported once (logFailed); from then on requests are
// dropped, since what reached the disk is unknown, until the raft actor asks
// for the log to be reopened (reopenLog), which the writer does as a restart
// would (see unwritable.go).
type logWriter struct {
	cfg  Config
	log  zerolog.Logger
	raft *actor.PID

	store *logStore
	// failed is the store whose write failed, until its WAL is reset.
	failed *logStore

	// hardState is raft's latest; dirty until a sync has written it. A
	// change of the commit index alone is not worth a sync (raft re-learns
	// commit after a restart): it goes with the next batch.
	hardState *raftpb.HardState
	hsDirty   bool
	// synced is the term and vote of the hard state last made durable.
	synced    [2]uint64
	staged    uint64 // last index in the log once the batch is synced
	durable   uint64 // last index made durable
	snapIndex uint64 // index of the stored snapshot

	batch       []*raftpb.Message // staged appends whose answer waits for the sync
	flushQueued bool
}

// flushLog is the writer's note to itself that a batch waits for its sync;
// sent at most once until handled.
type flushLog struct{}

var flushLogMsg = &flushLog{}

// logWriterProps hands store, and what was read from it, to a new writer.
func logWriterProps(cfg Config, raftPID *actor.PID, store *logStore, st *logState) *actor.Props {
	last := lastIndexOf(st)
	if cfg.disk == nil {
		cfg.disk = newDiskMetrics(nil)
	}
	store.meter(cfg.disk)
	return actor.PropsFromProducer(func() actor.Actor {
		return &logWriter{
			cfg: cfg, raft: raftPID, log: cfg.Log.With().Str("actor", "logwriter").Logger(),
			store: store, hardState: st.hardState, durable: last, staged: last,
			synced: termVote(st.hardState), snapIndex: st.snapshot.GetMetadata().GetIndex(),
		}
	})
}

func termVote(hs *raftpb.HardState) [2]uint64 { return [2]uint64{hs.GetTerm(), hs.GetVote()} }

// lastIndexOf is the index the log read back ends at.
func lastIndexOf(st *logState) uint64 {
	last := st.snapshot.GetMetadata().GetIndex()
	if n := len(st.entries); n > 0 {
		last = max(last, st.entries[n-1].GetIndex())
	}
	return last
}

func (w *logWriter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *appendLog:
		w.onAppend(ctx, m)
	case *flushLog:
		w.flushQueued = false
		w.flush(ctx, false)
	case *saveSnapshot:
		w.onSaveSnapshot(ctx, m)
	case *snapshotStored:
		w.onSnapshotStored(ctx, m)
	case *saveConfState:
		if w.store != nil {
			if err := w.store.stage(&logWrite{confState: m.cs}); err != nil {
				w.failWrite(ctx, fmt.Errorf("persist conf state: %w", err))
			}
		}
	case *readSnapshot:
		ctx.Send(w.raft, w.readImage())
	case *reopenLog:
		ctx.Send(w.raft, w.reopen())
	case *closeLog:
		w.close(ctx, m)
		ctx.Respond(m)
	case *actor.Stopping:
		// Normally closed already (closeLog); if the raft actor gave up
		// waiting, the files are not left open behind it.
		w.close(ctx, &closeLog{})
	}
}

func (w *logWriter) onAppend(ctx actor.Context, m *appendLog) {
	if w.store == nil {
		return // failed: raft's view that asked for it is let go
	}
	if m.hardState != nil {
		w.hardState, w.hsDirty = m.hardState, true
	}
	lw := logWrite{entries: m.msg.GetEntries()}
	if snap := m.msg.GetSnapshot(); snap != nil && !raft.IsEmptySnap(snap) {
		// A snapshot from the leader replaces the log.
		lw.snapshot, lw.dropEntries = snap, true
	}
	if err := w.store.stage(&lw); err != nil {
		w.failWrite(ctx, err)
		return
	}
	if lw.snapshot != nil {
		w.snapIndex = lw.snapshot.GetMetadata().GetIndex()
		w.staged = w.snapIndex
	}
	if n := len(lw.entries); n > 0 {
		// A follower's tail may be overwritten: the log ends at the last.
		w.staged = lw.entries[n-1].GetIndex()
	}
	// Entries, a snapshot, a term or a vote must be durable before raft
	// hears of them; a new commit index need not be (raft's MustSync).
	mustSync := len(lw.entries) > 0 || lw.snapshot != nil || termVote(w.hardState) != w.synced
	switch {
	case mustSync || len(w.batch) > 0 && len(m.msg.GetResponses()) > 0:
		w.batch = append(w.batch, m.msg)
		if !w.flushQueued {
			w.flushQueued = true
			ctx.Send(ctx.Self(), flushLogMsg)
		}
	case len(m.msg.GetResponses()) > 0:
		// Everything before it is durable already: its responses (raft
		// attesting entries appended earlier) need no sync of their own.
		ctx.Send(w.raft, &logWritten{appends: []*raftpb.Message{m.msg}})
	}
}

// flush makes the batch durable with one sync and tells the raft actor;
// force syncs even with nothing batched (a snapshot's mark is staged).
func (w *logWriter) flush(ctx actor.Context, force bool) {
	if w.store == nil || len(w.batch) == 0 && !w.hsDirty && !force {
		return
	}
	if h := w.cfg.hooks; h != nil && h.syncing != nil {
		h.syncing()
	}
	var hs *raftpb.HardState
	if w.hsDirty {
		hs = w.hardState
	}
	if err := w.store.sync(hs); err != nil {
		w.failWrite(ctx, err)
		return
	}
	if hs != nil {
		w.synced = termVote(hs)
	}
	w.hsDirty = false
	w.durable = w.staged
	if len(w.batch) > 0 {
		ctx.Send(w.raft, &logWritten{appends: w.batch})
		w.batch = nil
	}
}

// onSaveSnapshot stores the tree's snapshot in raft.db on a goroutine of
// its own: a snapshot of a big tree is tens of megabytes, and while bbolt
// writes and syncs it the WAL must go on taking batches (the raft actor
// sends one snapshot at a time). Only once it is stored does the WAL mark
// it, in onSnapshotStored, so a crash in between leaves the log whole.
func (w *logWriter) onSaveSnapshot(ctx actor.Context, m *saveSnapshot) {
	if w.store == nil {
		return
	}
	index := m.snap.GetMetadata().GetIndex()
	if index <= w.snapIndex {
		// A newer snapshot (a leader's) is stored: this one would roll it back.
		ctx.Send(w.raft, &snapshotSaved{snap: m.snap, compactTo: m.compactTo, stale: true})
		return
	}
	if err := w.store.checkFault(); err != nil {
		w.failWrite(ctx, fmt.Errorf("persist snapshot %d: %w", index, err))
		return
	}
	store, self, root := w.store, ctx.Self(), ctx.ActorSystem().Root
	go func() {
		stored, err := store.bolt.writeSnapshotIfNewer(m.snap)
		root.Send(self, &snapshotStored{save: m, store: store, stored: stored, err: err})
	}()
}

// snapshotStored (the saving goroutine → writer): raft.db holds the
// snapshot, or a newer one (stored false), or the write failed.
type snapshotStored struct {
	save   *saveSnapshot
	store  *logStore // the store it was written to
	stored bool
	err    error
}

func (w *logWriter) onSnapshotStored(ctx actor.Context, m *snapshotStored) {
	if w.store == nil || w.store != m.store {
		return // the log failed meanwhile and is being reopened: raft asks again
	}
	s, index := m.save, m.save.snap.GetMetadata().GetIndex()
	if m.err != nil {
		w.failWrite(ctx, fmt.Errorf("persist snapshot %d: %w", index, m.err))
		return
	}
	if !m.stored || index <= w.snapIndex {
		ctx.Send(w.raft, &snapshotSaved{snap: s.snap, compactTo: s.compactTo, stale: true})
		return
	}
	w.store.markSnapshot(s.snap, s.compactTo)
	if s.hardState != nil {
		w.hardState = s.hardState
	}
	w.snapIndex = index
	// The hard state goes along: its commit, written lazily, must not be
	// found behind the snapshot on the next start.
	w.hsDirty = w.hardState != nil
	w.flush(ctx, true)
	if w.store != nil {
		ctx.Send(w.raft, &snapshotSaved{snap: s.snap, compactTo: s.compactTo})
	}
}

func (w *logWriter) failWrite(ctx actor.Context, err error) {
	w.failed, w.store = w.store, nil
	w.batch, w.hsDirty = nil, false
	ctx.Send(w.raft, &logFailed{err: err, durable: w.durable})
}

func (w *logWriter) readImage() *snapshotRead {
	if w.store == nil {
		return &snapshotRead{err: errors.New("raft log cannot be read")}
	}
	st, err := w.store.bolt.load()
	if err != nil {
		return &snapshotRead{err: err}
	}
	return &snapshotRead{index: st.snapshot.GetMetadata().GetIndex(), data: st.snapshot.GetData()}
}

func (w *logWriter) close(ctx actor.Context, m *closeLog) {
	if w.store != nil && m.writeHardState {
		if m.hardState != nil {
			w.hardState, w.hsDirty = m.hardState, true
		}
		// A clean stop leaves the commit index exact, so the next start
		// replays everything without waiting for a new leader's entry.
		w.flush(ctx, false)
	}
	for _, s := range []*logStore{w.store, w.failed} {
		if s == nil {
			continue
		}
		if err := s.close(); err != nil {
			w.log.Error().Err(err).Msg("close raft log")
		}
	}
	w.store, w.failed = nil, nil
}

// reopen brings the log back after a failed write, as a restart would open
// it. A failure to write is a *writeError (try again later); anything else
// means the files are damaged.
func (w *logWriter) reopen() *logReopened {
	if w.store != nil {
		return &logReopened{err: errors.New("raft log reopened while open")}
	}
	if w.failed != nil {
		if err := w.failed.reset(); err != nil {
			return &logReopened{err: &writeError{err}}
		}
		w.failed = nil
	}
	dir := filepath.Join(w.cfg.DataDir, "member")
	path := filepath.Join(dir, "raft.db")
	if _, err := checkBoltFile(path); err != nil {
		return &logReopened{err: damaged(err)}
	}
	if err := rewrite(path); err != nil {
		return &logReopened{err: &writeError{err}}
	}
	store, st, err := openLogStore(dir, w.cfg.WALSegmentSize)
	if errors.Is(err, errCorruptLog) {
		return &logReopened{err: damaged(err)}
	} else if err != nil {
		return &logReopened{err: &writeError{err}}
	}
	if n := len(st.entries); n > 0 && st.entries[n-1].GetIndex() > w.durable {
		store.close()
		return &logReopened{err: damaged(fmt.Errorf("%w: the log holds entry %d past the last one made durable, %d",
			errCorruptLog, st.entries[n-1].GetIndex(), w.durable))}
	}
	store.meter(w.cfg.disk)
	w.store, w.hardState, w.hsDirty = store, st.hardState, false
	w.synced = termVote(st.hardState)
	w.snapIndex = st.snapshot.GetMetadata().GetIndex()
	w.durable = lastIndexOf(st)
	w.staged = w.durable
	if h := w.cfg.hooks; h != nil && h.opened != nil {
		h.opened(store)
	}
	return &logReopened{state: st}
}
