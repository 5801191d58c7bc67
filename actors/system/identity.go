package system

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/etcdv2/server/actors"
)

// identity is what a member keeps of its bootstrap: like etcd, a restarted
// member is the member its data directory says it is, whatever the flags say
// now (a changed peer URL must not turn it into a stranger to its own log).
type identity struct {
	MemberID  uint64
	ClusterID uint64
}

const identityFile = "identity"

func identityPath(dataDir string) string { return filepath.Join(dataDir, "member", identityFile) }

// The file holds the member id, the cluster id and a CRC-32C of the two, in
// hex: "m c sum". A flipped bit in an id would start a member that is a
// stranger to its own log and never elects a leader, so a file whose sum
// fails is refused. A file of two fields (written before the sum) is read as
// it is and rewritten with one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func identitySum(member, cluster string) string {
	return strconv.FormatUint(uint64(crc32.Checksum([]byte(member+" "+cluster), castagnoli)), 16)
}

// loadIdentity returns the stored identity, or ok=false for a fresh data dir.
func loadIdentity(dataDir string) (id identity, ok bool, err error) {
	path := identityPath(dataDir)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	corrupt := func(why string) error {
		return fmt.Errorf("%s is damaged (%s): the member does not know who it is; restore the data dir from a backup, "+
			"or remove the data dir to start this member afresh (in a cluster: remove the member and add it again)", path, why)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 && len(f) != 3 {
		return id, false, corrupt("not two ids and a checksum")
	}
	if len(f) == 3 && identitySum(f[0], f[1]) != f[2] {
		return id, false, corrupt("checksum mismatch")
	}
	if id.MemberID, err = strconv.ParseUint(f[0], 16, 64); err == nil {
		id.ClusterID, err = strconv.ParseUint(f[1], 16, 64)
	}
	if err != nil {
		return id, false, corrupt("an id is not hex")
	}
	if len(f) == 2 {
		if err := saveIdentity(dataDir, id); err != nil {
			return id, false, err
		}
	}
	return id, true, nil
}

// logPresent refuses a data dir whose identity says it has served while its
// raft log is gone or empty: starting on it would be a new, empty member
// under an old name, at index 0.
func logPresent(dataDir string, id identity) error {
	path := filepath.Join(dataDir, "member", "raft.db")
	fi, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err == nil && fi.Size() > 0 {
		return nil
	}
	what := "is missing"
	if err == nil {
		what = "is empty"
	}
	return fmt.Errorf("%s %s, but %s says this data dir belongs to member %s: its raft log is lost; "+
		"restore the data dir from a backup, or remove the data dir to start this member afresh "+
		"(in a cluster: remove the member and add it again)", path, what, identityPath(dataDir), actors.HexID(id.MemberID))
}

// saveIdentity writes the identity durably before the member first serves.
func saveIdentity(dataDir string, id identity) error {
	return writeIdentity(filepath.Dir(identityPath(dataDir)), id)
}

// writeIdentity writes the identity file of the member directory dir (a
// restore writes it into the directory it renames into place last).
func writeIdentity(dir string, id identity) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, identityFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	m, c := actors.HexID(id.MemberID), actors.HexID(id.ClusterID)
	_, err = f.WriteString(m + " " + c + " " + identitySum(m, c) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(dir); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	return err
}
