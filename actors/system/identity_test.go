package system

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentityRoundTripAndChecksum(t *testing.T) {
	dir := t.TempDir()
	want := identity{MemberID: 0x8e9e05c52164694d, ClusterID: 0xcdf818194e3a8c32}
	if err := saveIdentity(dir, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := loadIdentity(dir)
	if err != nil || !ok || got != want {
		t.Fatalf("load: %+v %v %v", got, ok, err)
	}
	b, _ := os.ReadFile(identityPath(dir))
	if f := strings.Fields(string(b)); len(f) != 3 || f[0] != "8e9e05c52164694d" || f[1] != "cdf818194e3a8c32" {
		t.Fatalf("identity file %q", b)
	}
	// One flipped bit of the member id: '8' becomes '9'.
	b[0] ^= 0x01
	os.WriteFile(identityPath(dir), b, 0o600)
	if _, _, err := loadIdentity(dir); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("a flipped bit: %v, want a checksum refusal", err)
	}
}

// A file of two ids (written before the checksum) is read and rewritten
// with one.
func TestIdentityWithoutChecksumIsUpgraded(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Dir(identityPath(dir)), 0o700)
	os.WriteFile(identityPath(dir), []byte("8e9e05c52164694d cdf818194e3a8c32\n"), 0o600)
	got, ok, err := loadIdentity(dir)
	if err != nil || !ok || got != (identity{MemberID: 0x8e9e05c52164694d, ClusterID: 0xcdf818194e3a8c32}) {
		t.Fatalf("load: %+v %v %v", got, ok, err)
	}
	b, _ := os.ReadFile(identityPath(dir))
	if len(strings.Fields(string(b))) != 3 {
		t.Fatalf("not rewritten with a checksum: %q", b)
	}
}

func TestLogPresent(t *testing.T) {
	dir := t.TempDir()
	id := identity{MemberID: 0xabc}
	if err := logPresent(dir, id); err == nil || !strings.Contains(err.Error(), "raft.db is missing") || !strings.Contains(err.Error(), "member abc") {
		t.Fatalf("missing log: %v", err)
	}
	db := filepath.Join(dir, "member", "raft.db")
	os.MkdirAll(filepath.Dir(db), 0o700)
	os.WriteFile(db, nil, 0o600)
	if err := logPresent(dir, id); err == nil || !strings.Contains(err.Error(), "raft.db is empty") {
		t.Fatalf("empty log: %v", err)
	}
	os.WriteFile(db, []byte("x"), 0o600)
	if err := logPresent(dir, id); err != nil {
		t.Fatalf("a log with bytes: %v", err)
	}
}
