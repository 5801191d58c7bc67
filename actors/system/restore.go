package system

// Restoring a backup into the data dir of one member of a new cluster, as
// etcdutl's snapshot restore does it: every member of the new cluster is
// restored from the same file with its own --name and the same
// --initial-cluster and --initial-cluster-token, which give the member and
// cluster ids as a bootstrap would derive them. The data dir then holds a
// member whose log is one committed snapshot of the backup's tree, and the
// member starts on it as a restarted member starts on its own.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/backupfile"
	"github.com/etcdv2/server/raftactor"
	"github.com/etcdv2/server/raftactor/wal"
	"github.com/etcdv2/server/treeactor"
)

// RestoreConfig is what `etcdv2 restore` is given: the backup file, and the
// flags the member will be started with.
type RestoreConfig struct {
	File                     string
	DataDir                  string
	Name                     string
	InitialCluster           string // empty: this member alone
	InitialClusterToken      string
	InitialAdvertisePeerURLs []string
	Log                      zerolog.Logger
}

// Restored is what a restore wrote.
type Restored struct {
	MemberID, ClusterID uint64
	EtcdIndex           uint64
	Keys                int
}

// restoreTerm is the term of every restored member's snapshot: the same on
// each, so their logs match at the snapshot; the first election moves past it.
const restoreTerm = 1

// Restore checks the flags, the data dir and the backup before it writes
// anything, then writes the member's data dir whole: its member directory is
// built beside its final name and renamed into place last, so a failed
// restore leaves no data dir a member would start on.
func Restore(rc RestoreConfig) (Restored, error) {
	var out Restored
	cfg := Config{Name: rc.Name, DataDir: rc.DataDir, InitialCluster: rc.InitialCluster,
		InitialClusterToken: rc.InitialClusterToken, InitialAdvertisePeerURLs: rc.InitialAdvertisePeerURLs}
	peers, err := cfg.Peers()
	if err != nil {
		return out, err
	}
	if dup := duplicateURL(peers); dup != "" {
		return out, fmt.Errorf("initial cluster %s has duplicate url %s", urlsMapString(peers), dup)
	}
	members := make([]actors.Member, len(peers))
	ids := make([]uint64, len(peers))
	for i, p := range peers {
		members[i] = actors.Member{ID: p.ID, Name: p.Name, PeerURLs: p.PeerURLs}
		ids[i] = p.ID
		if p.Name == rc.Name {
			out.MemberID = p.ID
			if err := advertiseMatches(&cfg, p.PeerURLs); err != nil {
				return out, err
			}
		}
	}
	out.ClusterID = ClusterID(ids)
	created, err := emptyDataDir(rc.DataDir)
	if err != nil {
		return out, err
	}
	head, body, err := backupfile.ReadFile(rc.File)
	if err != nil {
		return out, err
	}
	// The tree's own checks (its CRC, its order, its events) run before a
	// member would run them at start: a file this build cannot serve from
	// is refused now, not when the cluster starts.
	tree, err := treeactor.RestoreStore(body)
	if err != nil {
		return out, fmt.Errorf("%s: the tree in it: %w", rc.File, err)
	}
	if tree.Index() != head.EtcdIndex {
		return out, fmt.Errorf("%s: its header says etcd index %d, its tree is at %d", rc.File, head.EtcdIndex, tree.Index())
	}
	out.EtcdIndex, out.Keys = tree.Index(), tree.Len()
	if err := os.MkdirAll(rc.DataDir, 0o700); err != nil {
		return out, err
	}
	tmp := filepath.Join(rc.DataDir, "member.restoring")
	err = raftactor.WriteSeed(tmp, raftactor.Seed{Index: max(head.RaftIndex, 1), Term: restoreTerm, Members: members, Tree: body})
	if err == nil {
		err = writeIdentity(tmp, identity{MemberID: out.MemberID, ClusterID: out.ClusterID})
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(rc.DataDir, "member"))
	}
	if err == nil {
		err = wal.SyncDir(rc.DataDir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		if created {
			os.Remove(rc.DataDir)
		}
		return out, fmt.Errorf("restoring into %s: %w", rc.DataDir, err)
	}
	rc.Log.Info().Str("file", rc.File).Str("data-dir", rc.DataDir).Str("name", rc.Name).Str("id", actors.HexID(out.MemberID)).
		Str("cluster", actors.HexID(out.ClusterID)).Int("members", len(members)).Uint64("etcdIndex", out.EtcdIndex).
		Int("keys", out.Keys).Msg("backup restored")
	return out, nil
}

// emptyDataDir refuses a data dir that holds anything (a restore never
// writes over a member), and reports whether it is still to be created.
func emptyDataDir(dir string) (missing bool, err error) {
	des, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("data dir %s cannot be read: %w", dir, err)
	case len(des) > 0:
		return false, fmt.Errorf("data dir %s is not empty: a restore makes a new data dir; give it a new or empty one", dir)
	}
	return false, nil
}
