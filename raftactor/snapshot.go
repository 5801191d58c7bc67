package raftactor

import (
	"errors"
	"fmt"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// maybeSnapshot asks the tree for its state once SnapshotCount entries have
// been applied since the last snapshot; one request at a time.
func (r *raftActor) maybeSnapshot() {
	if r.snapAsked || r.cfg.PIDs.Tree == nil || r.applied-r.snapIndex < r.cfg.SnapshotCount {
		return
	}
	r.snapAsked = true
	r.ctx.Send(r.cfg.PIDs.Tree, &actors.TakeSnapshot{})
}

// onSnapshot stores the tree's state at s.Index as the snapshot, durably,
// then compacts the log behind it, keeping slack for slow followers.
func (r *raftActor) onSnapshot(s *actors.Snapshot) {
	r.snapAsked = false
	if !r.live() || s.Index <= r.snapIndex {
		return // stale: a newer snapshot (maybe from the leader) is in place
	}
	if s.Index > r.applied {
		r.log.Error().Uint64("index", s.Index).Uint64("applied", r.applied).Msg("tree snapshot ahead of the log, ignored")
		return
	}
	meta, err := r.mem.CreateSnapshot(s.Index, r.conf.at(s.Index), nil)
	snap := &raftpb.Snapshot{Metadata: meta.GetMetadata(), Data: s.Data}
	if err != nil {
		r.fail(fmt.Errorf("create snapshot %d: %w", s.Index, err))
		return
	}
	var compactTo uint64
	if slack := r.cfg.snapshotSlack(); s.Index > slack {
		compactTo = s.Index - slack
	}
	// The hard state goes along: its commit, written lazily, must not be
	// found behind the snapshot on the next start.
	w := logWrite{snapshot: snap, hardState: r.hardState, compactTo: compactTo}
	if err := r.store.write(&w); err != nil {
		r.cannotWrite(&writeError{fmt.Errorf("persist snapshot %d: %w", s.Index, err)}, nil)
		return
	}
	r.hsDirty = false
	if compactTo > 0 {
		if err := r.mem.Compact(compactTo); err != nil && !errors.Is(err, raft.ErrCompacted) {
			r.fail(fmt.Errorf("compact to %d: %w", compactTo, err))
			return
		}
	}
	r.snapIndex = s.Index
	r.conf.compact(s.Index)
	r.log.Info().Uint64("index", s.Index).Int("bytes", len(s.Data)).Uint64("compacted_to", compactTo).Msg("snapshot saved")
	// Enough may have been applied meanwhile to warrant the next one.
	r.maybeSnapshot()
}

// restored follows a snapshot received from the leader (already durable):
// the tree starts over from it.
func (r *raftActor) restored(snap *raftpb.Snapshot) {
	md := snap.GetMetadata()
	r.snapIndex = md.GetIndex()
	r.applied = md.GetIndex()
	r.commitTerm = md.GetTerm()
	r.snapAsked = false
	r.conf.reset(md.GetConfState())
	r.send(r.cfg.PIDs.Tree, &actors.Restore{Index: md.GetIndex(), Term: md.GetTerm(), Data: snap.GetData()})
	r.log.Info().Uint64("index", md.GetIndex()).Uint64("term", md.GetTerm()).Msg("snapshot restored from leader")
	r.releaseReads()
}

// confTrack remembers the membership as of the last snapshot and each change
// applied since, so a snapshot taken at index i records the membership of i
// even if a change was applied after it.
type confTrack struct {
	base    *raftpb.ConfState
	changes []confAt
}

type confAt struct {
	index uint64
	cs    *raftpb.ConfState
}

func (c *confTrack) reset(cs *raftpb.ConfState) {
	c.base = raftpb.EnsureConfState(cloneConf(cs))
	c.changes = nil
}

func (c *confTrack) applied(index uint64, cs *raftpb.ConfState) {
	c.changes = append(c.changes, confAt{index: index, cs: cloneConf(cs)})
}

func (c *confTrack) current() *raftpb.ConfState {
	if n := len(c.changes); n > 0 {
		return c.changes[n-1].cs
	}
	return c.base
}

func (c *confTrack) at(index uint64) *raftpb.ConfState {
	cs := c.base
	for _, ch := range c.changes {
		if ch.index > index {
			break
		}
		cs = ch.cs
	}
	return cs
}

func (c *confTrack) compact(index uint64) {
	c.base = c.at(index)
	n := 0
	for n < len(c.changes) && c.changes[n].index <= index {
		n++
	}
	c.changes = append(c.changes[:0:0], c.changes[n:]...)
}

func cloneConf(cs *raftpb.ConfState) *raftpb.ConfState {
	if cs == nil {
		return nil
	}
	return proto.Clone(cs).(*raftpb.ConfState)
}

// raft's memory view keeps a snapshot's metadata only: the image (the whole
// tree serialized, tens of MiB for a large store) is on disk in bbolt, and
// raft needs it only to send it to a follower that fell behind the log.
// Kept in memory it doubled the member's RSS per key.
type imageStorage struct {
	*raft.MemoryStorage
	image func() ([]byte, error)
}

// Snapshot is raft's snapshot with its image read back from the store.
func (s imageStorage) Snapshot() (*raftpb.Snapshot, error) {
	snap, err := s.MemoryStorage.Snapshot()
	if err != nil || raft.IsEmptySnap(snap) {
		return snap, err
	}
	data, err := s.image()
	if err != nil {
		return nil, err
	}
	return &raftpb.Snapshot{Metadata: snap.GetMetadata(), Data: data}, nil
}

func withoutImage(snap *raftpb.Snapshot) *raftpb.Snapshot {
	return &raftpb.Snapshot{Metadata: snap.GetMetadata()}
}

// snapshotImage reads the stored snapshot's image (nil when none).
func (r *raftActor) snapshotImage() ([]byte, error) {
	if r.store == nil {
		return nil, errors.New("raft log closed")
	}
	st, err := r.store.bolt.load()
	if err != nil {
		return nil, err
	}
	return st.snapshot.GetData(), nil
}
