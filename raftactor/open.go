package raftactor

// Opening the member: the files are checked, read and handed to the log
// writer; raft's memory view and the RawNode are built from what they hold.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

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
	if r.cfg.ForceNewCluster {
		if err := r.forceNewCluster(store, st); err != nil {
			store.close()
			return err
		}
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
	if fresh && !r.cfg.JoinExisting {
		// Each bootstrap entry carries its member, as a runtime add does.
		peers := make([]raft.Peer, len(r.cfg.Peers))
		for i, id := range r.cfg.Peers {
			mb, _ := r.cfg.initial().find(id)
			peers[i] = raft.Peer{ID: id, Context: encodeContext(memberContext{Member: withoutClientURLs(mb)})}
		}
		if err := rn.Bootstrap(peers); err != nil {
			return err
		}
	}
	restore := &actors.Restore{Index: r.snapIndex, ServeAt: r.serveAt(st)}
	if st.snapshot != nil {
		restore.Term = st.snapshot.GetMetadata().GetTerm()
		restore.Data = r.treeImage
		r.treeImage = nil
	}
	r.send(r.cfg.PIDs.Tree, restore)
	r.log.Info().Str("id", actors.HexID(r.cfg.ID)).Bool("fresh", fresh).Bool("join", fresh && r.cfg.JoinExisting).Uint64("snapshot", r.snapIndex).
		Uint64("term", r.term).Uint64("commit", r.hardState.GetCommit()).
		Int("entries", len(st.entries)).Strs("voters", actors.HexIDs(st.confState.GetVoters())).Msg("raft log loaded")
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
	// Without a snapshot the log holds every membership change from the
	// bootstrap on; a snapshot of an older build holds none.
	var mem membership
	if st.snapshot != nil {
		mem = r.cfg.initial()
		m, tree, ok, err := splitImage(st.snapshot.GetData())
		if err != nil {
			return false, fmt.Errorf("%w: snapshot %d: %w", errCorruptLog, r.snapIndex, err)
		}
		if ok {
			mem = m
		}
		r.treeImage = tree
	}
	r.conf.reset(st.snapshot.GetMetadata().GetConfState(), mem)
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
