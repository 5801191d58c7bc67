package raftactor

// --force-new-cluster, as etcd's restartAsStandaloneNode does it: a member of
// a cluster that lost its quorum for good restarts as the only member, with
// everything it had committed. The change is written into the log itself,
// before raft starts, so that this start and every later one replay the same
// membership:
//
//   - entries past the commit index are dropped: nothing says the cluster
//     ever committed them;
//   - conf changes that remove every other member (and add this one, if the
//     log had removed it) are appended after the commit index and counted as
//     committed at once, since no quorum is left to commit them.
//
// Applying them leaves this member the only voter; it then elects itself.
// On a log where it is alone already nothing is written, so leaving the flag
// on across restarts is harmless.

import (
	"fmt"
	"sort"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// forcedLog is what forcing the membership does to a log.
type forcedLog struct {
	keep    int               // how many of the log's entries stay (those up to the commit index)
	ents    []*raftpb.Entry   // the conf changes appended after them
	hs      *raftpb.HardState // the hard state that commits them
	removed []uint64          // the members removed
	added   bool              // this member was added back
}

// forceNewCluster rewrites st, and the log it was read from, to this member
// alone.
func (r *raftActor) forceNewCluster(store *logStore, st *logState) error {
	if st.hardState == nil && st.snapshot == nil && len(st.entries) == 0 {
		return nil // a fresh log: the member bootstraps, alone
	}
	f, err := forceAlone(st, r.cfg.ID)
	if err != nil || f == nil {
		return err
	}
	dropped := len(st.entries) - f.keep
	if err := store.write(&logWrite{entries: f.ents, hardState: f.hs}); err != nil {
		return fmt.Errorf("--force-new-cluster: writing the new membership: %w", err)
	}
	st.entries = append(st.entries[:f.keep:f.keep], f.ents...)
	st.hardState = f.hs
	r.log.Warn().Str("id", actors.HexID(r.cfg.ID)).Strs("removed", actors.HexIDs(f.removed)).Bool("added-self", f.added).
		Int("dropped-uncommitted", dropped).Uint64("commit", f.hs.GetCommit()).
		Msg("--force-new-cluster: this member is now its cluster's only member")
	return nil
}

// forceAlone computes the forced log for member self, or nil if self is the
// only member already.
func forceAlone(st *logState, self uint64) (*forcedLog, error) {
	meta := st.snapshot.GetMetadata()
	commit := max(st.hardState.GetCommit(), meta.GetIndex())
	f := &forcedLog{keep: len(st.entries)}
	last, lastTerm := meta.GetIndex(), meta.GetTerm()
	for i, e := range st.entries {
		if e.GetIndex() > commit {
			f.keep = i
			break
		}
		if e.GetIndex() > last {
			last, lastTerm = e.GetIndex(), e.GetTerm()
		}
	}
	if last != commit {
		return nil, fmt.Errorf("%w: commit %d past the last entry %d", errCorruptLog, commit, last)
	}
	members, err := membersAt(meta.GetConfState(), st.entries[:f.keep], meta.GetIndex())
	if err != nil {
		return nil, err
	}
	var changes []*raftpb.ConfChange
	for _, id := range members {
		if id == self {
			continue
		}
		f.removed = append(f.removed, id)
		changes = append(changes, &raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: new(id)})
	}
	if !contains(members, self) {
		f.added = true
		changes = append(changes, &raftpb.ConfChange{Type: raftpb.ConfChangeAddNode.Enum(), NodeId: new(self)})
	}
	if len(changes) == 0 {
		return nil, nil
	}
	term := max(st.hardState.GetTerm(), lastTerm)
	for i, cc := range changes {
		data, err := proto.Marshal(cc)
		if err != nil {
			return nil, err
		}
		f.ents = append(f.ents, &raftpb.Entry{Term: new(term), Index: new(commit + 1 + uint64(i)),
			Type: raftpb.EntryConfChange.Enum(), Data: data})
	}
	f.hs = &raftpb.HardState{Term: new(term), Vote: new(st.hardState.GetVote()), Commit: new(commit + uint64(len(changes)))}
	return f, nil
}

// membersAt is every member (voter or learner) of the configuration cs at
// index from, changed by the conf changes among ents after from; sorted.
func membersAt(cs *raftpb.ConfState, ents []*raftpb.Entry, from uint64) ([]uint64, error) {
	set := map[uint64]bool{}
	for _, list := range [][]uint64{cs.GetVoters(), cs.GetLearners(), cs.GetVotersOutgoing(), cs.GetLearnersNext()} {
		for _, id := range list {
			set[id] = true
		}
	}
	change := func(t raftpb.ConfChangeType, id uint64) {
		switch t {
		case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
			set[id] = true
		case raftpb.ConfChangeRemoveNode:
			delete(set, id)
		}
	}
	for _, e := range ents {
		if e.GetIndex() <= from {
			continue
		}
		switch e.GetType() {
		case raftpb.EntryConfChange:
			var cc raftpb.ConfChange
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return nil, fmt.Errorf("%w: raft entry %d: conf change: %v", errCorruptLog, e.GetIndex(), err)
			}
			change(cc.GetType(), cc.GetNodeId())
		case raftpb.EntryConfChangeV2:
			var cc raftpb.ConfChangeV2
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return nil, fmt.Errorf("%w: raft entry %d: conf change: %v", errCorruptLog, e.GetIndex(), err)
			}
			for _, c := range cc.GetChanges() {
				change(c.GetType(), c.GetNodeId())
			}
		}
	}
	ids := make([]uint64, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

func contains(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
