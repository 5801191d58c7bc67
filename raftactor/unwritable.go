package raftactor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/raftactor/wal"
	bolt "go.etcd.io/bbolt"
	"go.etcd.io/raft/v3"
)

// When the log cannot be written (a full disk, most often) the member does
// not stop. What it had applied stays served: plain reads go to the tree and
// watches to the hub, neither of which needs the disk. Writes fail at once
// with unwritableCause, which a client retries on (500, as for a lost
// leader). The RawNode and the log file are let go, since a failed write may
// have left raft's view and the file's apart, and every retryEvery the actor
// tries to come back exactly as a restart would: the log writer, which owns
// the files, reopens and reads them; the raft actor builds a new RawNode from
// what it read and replays what the tree already has.
//
// After a failed fsync the kernel may have dropped the pages it could not
// write while still showing them from its cache, so nothing read back is
// trusted as durable: the WAL is reset (zeros over whatever the failed write
// may have left after the last synced batch, synced afresh), and raft.db is
// copied whole into a new file (bbolt's Compact), synced and renamed over the
// old. An entry found past the last index the writer made durable after
// that is damage, and stops the member.

// unwritableCause is the error's cause for writes refused meanwhile.
const unwritableCause = "etcdserver: the raft log cannot be written (is the disk full?): writes fail until it can; reads and watches go on"

const (
	retryEvery    = 2 * time.Second
	warnEvery     = 30 * time.Second
	rewriteSuffix = ".rewrite"
)

// writeError marks a failed write of the log file, as opposed to raft's
// memory view refusing something (a bug, which stops the member).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type unwritable struct {
	err      error
	since    time.Time
	ticks    int
	warnedAt time.Time
	asked    bool // a reopenLog is out
}

// cannotWrite lets go of the RawNode after the writer reported a failed
// write. Entries reach the tree only once durable, so everything it was
// handed stays applied; everything else waiting fails.
func (r *raftActor) cannotWrite(m *logFailed) {
	if !r.live() {
		return
	}
	r.log.Error().Err(m.err).Uint64("durable", m.durable).Uint64("applied", r.applied).
		Msg("the raft log cannot be written: serving reads and watches only, writes fail until it can")
	r.unwritable = &unwritable{err: m.err, since: time.Now()}
	r.failWaiters(actors.EcodeRaftInternal, unwritableCause)
	r.failReads(unwritableCause)
	r.letGo()
}

// letGo drops the RawNode and raft's view (the writer resets and reopens
// the files); this member leads nothing until it is back.
func (r *raftActor) letGo() {
	r.rn, r.mem = nil, nil
	// What a new RawNode needs is read back from the files.
	r.snapAsked, r.image, r.hsHeld, r.appendsOut = false, nil, false, 0
	r.lead, r.isLeader = 0, false
	r.leaderChanged()
	r.send(r.cfg.PIDs.Wheel, &actors.LeaderChanged{Term: r.term})
}

// retryWrite runs on every tick while the log cannot be written: every
// retryEvery it asks the writer to reopen the log.
func (r *raftActor) retryWrite() {
	u := r.unwritable
	if u.asked {
		return
	}
	if u.ticks++; time.Duration(u.ticks)*r.cfg.TickInterval < retryEvery {
		return
	}
	u.ticks = 0
	u.asked = true
	r.send(r.writer, &reopenLog{})
}

// onLogReopened rebuilds raft from what the writer read back, as a restart
// would; a failure to write means trying again later, anything else that
// the files are damaged.
func (r *raftActor) onLogReopened(m *logReopened) {
	u := r.unwritable
	if u == nil || r.failed != nil || r.stopped {
		return
	}
	u.asked = false
	err := m.err
	if err == nil {
		err = r.comeBack(m.state)
	}
	if err != nil {
		var we *writeError
		if !errors.As(err, &we) {
			r.fail(err)
			return
		}
		if time.Since(u.warnedAt) >= warnEvery {
			u.warnedAt = time.Now()
			r.log.Warn().Err(err).Dur("for", time.Since(u.since)).Msg("the raft log still cannot be written")
		}
		return
	}
	r.log.Info().Dur("after", time.Since(u.since)).Uint64("applied", r.applied).Msg("the raft log can be written again: writes resume")
	r.unwritable = nil
	r.campaignIfAlone()
	r.scheduleReady()
}

// comeBack builds raft's view and a new RawNode from the log st read back.
func (r *raftActor) comeBack(st *logState) error {
	applied, commitTerm := r.applied, r.commitTerm
	r.mem = raft.NewMemoryStorage()
	if _, err := r.loadMemory(st); err != nil {
		return damaged(err)
	}
	r.applied, r.commitTerm = applied, commitTerm
	// Everything applied was committed, whatever the lazily written commit
	// on disk says.
	if r.hardState.GetCommit() < applied {
		r.hardState.Commit = new(applied)
		if err := r.mem.SetHardState(r.hardState); err != nil {
			return err
		}
	}
	// As at a restart, raft hands over the entries after the snapshot again,
	// so it relearns the membership from them; apply passes on to the tree
	// only those it has not been handed.
	rn, err := r.newRawNode(r.snapIndex)
	if err != nil {
		return err
	}
	r.rn = rn
	return nil
}

// rewrite copies the file whole into a new one, syncs it and renames it over
// the old, so that every page is written afresh rather than trusted from a
// cache that may not match the disk.
func rewrite(path string) error {
	tmp := path + rewriteSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	err := guard("rewriting "+path, func() error {
		src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			return err
		}
		defer src.Close()
		dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			return err
		}
		if err := bolt.Compact(dst, src, 0); err != nil {
			dst.Close()
			return err
		}
		if err := dst.Sync(); err != nil {
			dst.Close()
			return err
		}
		return dst.Close()
	})
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = wal.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rewriting %s: %w", path, err)
	}
	return nil
}
