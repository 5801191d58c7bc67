package system

import (
	"errors"
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

func identityPath(dataDir string) string { return filepath.Join(dataDir, "member", "identity") }

// loadIdentity returns the stored identity, or ok=false for a fresh data dir.
func loadIdentity(dataDir string) (id identity, ok bool, err error) {
	b, err := os.ReadFile(identityPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	member, cluster, found := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !found {
		return id, false, errors.New("corrupt " + identityPath(dataDir))
	}
	if id.MemberID, err = strconv.ParseUint(member, 16, 64); err == nil {
		id.ClusterID, err = strconv.ParseUint(cluster, 16, 64)
	}
	if err != nil {
		return id, false, errors.New("corrupt " + identityPath(dataDir))
	}
	return id, true, nil
}

// saveIdentity writes the identity durably before the member first serves.
func saveIdentity(dataDir string, id identity) error {
	dir := filepath.Dir(identityPath(dataDir))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := identityPath(dataDir) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(actors.HexID(id.MemberID) + " " + actors.HexID(id.ClusterID) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, identityPath(dataDir))
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
