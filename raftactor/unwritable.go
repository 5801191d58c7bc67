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
// tries to come back exactly as a restart would: reopen the files, read them,
// build a new RawNode from them, replay what the tree already has.
//
// After a failed fsync the kernel may have dropped the pages it could not
// write while still showing them from its cache, so nothing read back is
// trusted as durable: the WAL is reset (zeros over whatever the failed write
// may have left after the last synced batch, synced afresh), and raft.db is
// copied whole into a new file (bbolt's Compact), synced and renamed over the
// old. An entry found past the last index known durable (r.durable) after
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
	// failed is the store whose write failed, until its WAL is reset.
	failed *logStore
}

// cannotWrite lets go of the RawNode and the file after a failed write.
// The Ready's committed entries were made durable by earlier Readys, so they
// are still applied; everything else waiting fails.
func (r *raftActor) cannotWrite(we *writeError, rd *raft.Ready) {
	r.log.Error().Err(we.err).Uint64("durable", r.durable).Uint64("applied", r.applied).
		Msg("the raft log cannot be written: serving reads and watches only, writes fail until it can")
	if rd != nil && raft.IsEmptySnap(rd.Snapshot) && len(rd.CommittedEntries) > 0 {
		r.apply(rd.CommittedEntries)
	}
	r.unwritable = &unwritable{err: we.err, since: time.Now(), failed: r.store}
	r.failWaiters(actors.EcodeRaftInternal, unwritableCause)
	r.failReads(unwritableCause)
	r.letGo()
}

// letGo drops the RawNode and the store (comeBack resets and closes it);
// this member leads nothing until it is back.
func (r *raftActor) letGo() {
	r.store, r.rn, r.mem = nil, nil, nil
	wasLeader := r.isLeader
	r.lead, r.isLeader = 0, false
	r.leaderChanged(wasLeader)
	r.send(r.cfg.PIDs.Wheel, &actors.LeaderChanged{Term: r.term})
}

// retryWrite runs on every tick while the log cannot be written.
func (r *raftActor) retryWrite() {
	u := r.unwritable
	if u.ticks++; time.Duration(u.ticks)*r.cfg.TickInterval < retryEvery {
		return
	}
	u.ticks = 0
	if err := r.comeBack(); err != nil {
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
	if singleVoter(r.conf.current(), r.cfg.ID) {
		if err := r.rn.Campaign(); err != nil {
			r.log.Warn().Err(err).Msg("campaign")
		}
	}
	r.scheduleReady()
}

// comeBack reopens the log as a restart would. A failure to write is a
// *writeError (try again later); anything else means the file is damaged.
func (r *raftActor) comeBack() error {
	if u := r.unwritable; u.failed != nil {
		if err := u.failed.reset(); err != nil {
			return &writeError{err}
		}
		u.failed = nil
	}
	dir := filepath.Join(r.cfg.DataDir, "member")
	path := filepath.Join(dir, "raft.db")
	if _, err := checkBoltFile(path); err != nil {
		return damaged(err)
	}
	if err := rewrite(path); err != nil {
		return &writeError{err}
	}
	store, st, err := openLogStore(dir, r.cfg.WALSegmentSize)
	if errors.Is(err, errCorruptLog) {
		return damaged(err)
	} else if err != nil {
		return &writeError{err}
	}
	if n := len(st.entries); n > 0 && st.entries[n-1].GetIndex() > r.durable {
		store.close()
		return damaged(fmt.Errorf("%w: the log holds entry %d past the last one made durable, %d", errCorruptLog, st.entries[n-1].GetIndex(), r.durable))
	}
	applied, commitTerm := r.applied, r.commitTerm
	r.mem = raft.NewMemoryStorage()
	if _, err := r.loadMemory(st); err != nil {
		store.close()
		return damaged(err)
	}
	r.applied, r.commitTerm = applied, commitTerm
	// Everything applied was committed, whatever the lazily written commit
	// on disk says.
	if r.hardState.GetCommit() < applied {
		r.hardState.Commit = new(applied)
		if err := r.mem.SetHardState(r.hardState); err != nil {
			store.close()
			return err
		}
	}
	// As at a restart, raft hands over the entries after the snapshot again,
	// so it relearns the membership from them; apply passes on to the tree
	// only those it has not been handed.
	rn, err := r.newRawNode(r.snapIndex)
	if err != nil {
		store.close()
		return err
	}
	r.store, r.rn = store, rn
	r.durable, _ = r.mem.LastIndex()
	if h := r.cfg.hooks; h != nil && h.opened != nil {
		h.opened(store)
	}
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
