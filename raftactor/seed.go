package raftactor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
)

// Seed is the log a restore from a backup writes for each member of a new
// cluster: nothing but a committed snapshot of the tree, with the cluster's
// members (every one a voter) as its membership. Every member restored from
// the same backup with the same members holds the same snapshot, so their
// logs agree from the first election on, as etcdutl's snapshot restore makes
// them agree.
type Seed struct {
	Index, Term uint64          // the snapshot's raft position (Index > 0)
	Members     []actors.Member // names and peer URLs; client URLs are published at start
	Tree        []byte          // the tree's image, as treeactor restores it
}

// WriteSeed writes s as the raft log of memberDir (DataDir/member), which
// must hold no log yet. It goes through the same files and the same write as
// a snapshot the leader sends a follower, so the member started on it opens
// it as a restarted member opens its own.
func WriteSeed(memberDir string, s Seed) error {
	if s.Index == 0 || len(s.Members) == 0 {
		return errors.New("raft log seed: no index or no members")
	}
	for _, p := range []string{filepath.Join(memberDir, "raft.db"), walDir(memberDir)} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("raft log seed: %s exists", p)
		}
	}
	if err := os.MkdirAll(memberDir, 0o700); err != nil {
		return err
	}
	var mem membership
	ids := make([]uint64, 0, len(s.Members))
	for _, mb := range s.Members {
		mem = mem.with(mb)
		ids = append(ids, mb.ID)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(s.Members) {
		return errors.New("raft log seed: a member id is listed twice")
	}
	cs := &raftpb.ConfState{Voters: ids}
	snap := &raftpb.Snapshot{
		Data:     append(imagePrefix(mem), s.Tree...),
		Metadata: &raftpb.SnapshotMetadata{Index: new(s.Index), Term: new(s.Term), ConfState: cs},
	}
	store, _, err := openLogStore(memberDir, 0)
	if err != nil {
		return err
	}
	err = store.write(&logWrite{
		snapshot: snap, dropEntries: true, confState: cs,
		hardState: &raftpb.HardState{Term: new(s.Term), Vote: new(uint64(0)), Commit: new(s.Index)},
	})
	if cerr := store.close(); err == nil {
		err = cerr
	}
	return err
}
