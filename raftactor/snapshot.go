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
	// The tree's image will be of r.applied: so is the membership in front.
	r.snapAskedAt = r.applied
	r.ctx.Send(r.cfg.PIDs.Tree, &actors.TakeSnapshot{Prefix: imagePrefix(r.conf.members())})
}

// onSnapshot hands the tree's state at s.Index to the log writer, to be
// stored as the snapshot; the log is compacted behind it, keeping slack for
// slow followers, once it is durable (onSnapshotSaved). A large image is the
// writer's to wait for, not this actor's.
func (r *raftActor) onSnapshot(s *actors.Snapshot) {
	if !r.live() || s.Index <= r.snapIndex {
		r.snapAsked = false
		return // stale: a newer snapshot (maybe from the leader) is in place
	}
	if s.Index != r.snapAskedAt {
		r.snapAsked = false
		r.log.Error().Uint64("index", s.Index).Uint64("asked", r.snapAskedAt).Msg("tree snapshot of another index than asked, ignored")
		return
	}
	if s.Index > r.applied {
		r.snapAsked = false
		r.log.Error().Uint64("index", s.Index).Uint64("applied", r.applied).Msg("tree snapshot ahead of the log, ignored")
		return
	}
	term, err := r.mem.Term(s.Index)
	if err != nil {
		r.fail(fmt.Errorf("create snapshot %d: %w", s.Index, err))
		return
	}
	snap := &raftpb.Snapshot{Data: s.Data, Metadata: &raftpb.SnapshotMetadata{
		Index: new(s.Index), Term: new(term), ConfState: cloneConf(r.conf.at(s.Index).cs),
	}}
	var compactTo uint64
	if slack := r.cfg.snapshotSlack(); s.Index > slack {
		compactTo = s.Index - slack
	}
	// snapAsked stays set until the writer answers: one snapshot at a time.
	r.ctx.Send(r.writer, &saveSnapshot{snap: snap, compactTo: compactTo, hardState: r.heldHardState()})
}

// onSnapshotSaved shows raft the snapshot the writer made durable and
// compacts raft's view behind it.
func (r *raftActor) onSnapshotSaved(m *snapshotSaved) {
	r.snapAsked = false
	md := m.snap.GetMetadata()
	index := md.GetIndex()
	if !r.live() || m.stale || index <= r.snapIndex {
		return
	}
	if _, err := r.mem.CreateSnapshot(index, md.GetConfState(), nil); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		r.fail(fmt.Errorf("create snapshot %d: %w", index, err))
		return
	}
	if m.compactTo > 0 {
		if err := r.mem.Compact(m.compactTo); err != nil && !errors.Is(err, raft.ErrCompacted) {
			r.fail(fmt.Errorf("compact to %d: %w", m.compactTo, err))
			return
		}
	}
	r.snapIndex = index
	r.conf.compact(index)
	r.image = nil
	r.log.Info().Uint64("index", index).Int("bytes", len(m.snap.GetData())).Uint64("compacted_to", m.compactTo).Msg("snapshot saved")
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
	mem, tree, ok, err := splitImage(snap.GetData())
	if err != nil {
		r.fail(fmt.Errorf("snapshot %d from the leader: %w", md.GetIndex(), err))
		return
	}
	if !ok {
		mem = r.cfg.initial()
	}
	r.conf.reset(md.GetConfState(), mem)
	r.membersChanged()
	r.send(r.cfg.PIDs.Tree, &actors.Restore{Index: md.GetIndex(), Term: md.GetTerm(), Data: tree})
	r.log.Info().Uint64("index", md.GetIndex()).Uint64("term", md.GetTerm()).Msg("snapshot restored from leader")
	r.releaseReads()
}

// confTrack remembers the membership (raft's voters and the members' names
// and URLs) as of the last snapshot and each change applied since, so a
// snapshot taken at index i records the membership of i even if a change was
// applied after it.
type confTrack struct {
	base    confAt
	changes []confAt
}

type confAt struct {
	index uint64
	cs    *raftpb.ConfState
	mem   membership
}

func (c *confTrack) reset(cs *raftpb.ConfState, mem membership) {
	c.base = confAt{cs: raftpb.EnsureConfState(cloneConf(cs)), mem: mem}
	c.changes = nil
}

func (c *confTrack) applied(index uint64, cs *raftpb.ConfState, mem membership) {
	c.changes = append(c.changes, confAt{index: index, cs: cloneConf(cs), mem: mem})
}

func (c *confTrack) last() *confAt {
	if n := len(c.changes); n > 0 {
		return &c.changes[n-1]
	}
	return &c.base
}

func (c *confTrack) current() *raftpb.ConfState { return c.last().cs }

func (c *confTrack) members() membership { return c.last().mem }

func (c *confTrack) at(index uint64) *confAt {
	at := &c.base
	for i := range c.changes {
		if c.changes[i].index > index {
			break
		}
		at = &c.changes[i]
	}
	return at
}

func (c *confTrack) compact(index uint64) {
	c.base = *c.at(index)
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
// Kept in memory it doubled the member's RSS per key. The file is the log
// writer's, so the image is read by it, asked for the first time raft wants
// it; raft is told it is temporarily unavailable meanwhile, and asks again
// on its next attempt to catch the follower up.
type imageStorage struct {
	*raft.MemoryStorage
	image func(index uint64) ([]byte, error)
}

// Snapshot is raft's snapshot with its image read back from the store.
func (s imageStorage) Snapshot() (*raftpb.Snapshot, error) {
	snap, err := s.MemoryStorage.Snapshot()
	if err != nil || raft.IsEmptySnap(snap) {
		return snap, err
	}
	data, err := s.image(snap.GetMetadata().GetIndex())
	if err != nil {
		return nil, err
	}
	return &raftpb.Snapshot{Metadata: snap.GetMetadata(), Data: data}, nil
}

func withoutImage(snap *raftpb.Snapshot) *raftpb.Snapshot {
	return &raftpb.Snapshot{Metadata: snap.GetMetadata()}
}

// snapshotImage gives raft the image of the snapshot at index once the
// writer has read it back, for one use: it is not kept in memory.
func (r *raftActor) snapshotImage(index uint64) ([]byte, error) {
	if im := r.image; im != nil && im.index == index {
		r.image = nil
		return im.data, nil
	}
	if !r.imageAsked && r.writer != nil {
		r.imageAsked = true
		r.ctx.Send(r.writer, &readSnapshot{})
	}
	return nil, raft.ErrSnapshotTemporarilyUnavailable
}

func (r *raftActor) onSnapshotRead(m *snapshotRead) {
	r.imageAsked = false
	if m.err != nil {
		r.log.Warn().Err(m.err).Msg("read snapshot image")
		return
	}
	r.image = m
}
