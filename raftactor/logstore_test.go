package raftactor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// boltEntries counts the entries left in raft.db.
func boltEntries(t *testing.T, path string) (n int, format int) {
	t.Helper()
	l := openTestLog(t, path)
	defer l.close()
	l.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEntries).Stats().KeyN
		return nil
	})
	f, err := l.format()
	if err != nil {
		t.Fatal(err)
	}
	return n, f
}

// A data dir of the format before the WAL (the log in raft.db) is moved into
// the WAL on open: every entry, the hard state and the snapshot read back the
// same, raft.db keeps only the snapshot, and the next open reads the WAL.
func TestLogInBboltMovesToTheWAL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "raft.db")
	l := openTestLog(t, path)
	snap := &raftpb.Snapshot{Data: []byte("image@10"), Metadata: &raftpb.SnapshotMetadata{
		Index: new(uint64(10)), Term: new(uint64(2)), ConfState: &raftpb.ConfState{Voters: []uint64{1}}}}
	if err := l.write(&logWrite{snapshot: snap, entries: mkEntries(6, 40, 2), hardState: hardState(2, 1, 38)}); err != nil {
		t.Fatal(err)
	}
	l.close()
	// A move a crash interrupted left a partial WAL beside.
	os.MkdirAll(filepath.Join(dir, "wal.tmp"), 0o700)
	os.WriteFile(filepath.Join(dir, "wal.tmp", "0000000000000000-0000000000000001.wal"), []byte("partial"), 0o600)

	for round := 0; round < 2; round++ {
		s, st, err := openLogStore(dir, 0)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkEntries(t, st.entries, 11, 40, func(uint64) uint64 { return 2 })
		if st.hardState.GetCommit() != 38 || st.snapshot.GetMetadata().GetIndex() != 10 || string(st.snapshot.GetData()) != "image@10" {
			t.Fatalf("round %d: hard state %v snapshot %v", round, st.hardState, st.snapshot.GetMetadata())
		}
		s.close()
		if n, f := boltEntries(t, path); n != 0 || f != walFormat {
			t.Fatalf("round %d: raft.db keeps %d entries, format %d", round, n, f)
		}
		if _, err := os.Stat(filepath.Join(dir, "wal.tmp")); !os.IsNotExist(err) {
			t.Fatalf("round %d: wal.tmp left: %v", round, err)
		}
	}
}

// A crash after the WAL was renamed into place but before raft.db let go of
// its copy: the WAL is taken, raft.db's copy dropped.
func TestMoveInterruptedAfterTheRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "raft.db")
	l := openTestLog(t, path)
	if err := l.write(&logWrite{entries: mkEntries(1, 5, 1), hardState: hardState(1, 1, 5)}); err != nil {
		t.Fatal(err)
	}
	l.close()
	s, _, err := openLogStore(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.write(&logWrite{entries: mkEntries(6, 8, 1), hardState: hardState(1, 1, 8)}); err != nil {
		t.Fatal(err)
	}
	s.close()
	// Put raft.db back as it was before it let go (format 2, its own copy).
	l = openTestLog(t, path)
	l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("2")) })
	if err := l.write(&logWrite{entries: mkEntries(1, 5, 1), hardState: hardState(1, 1, 5)}); err != nil {
		t.Fatal(err)
	}
	l.close()
	s, st, err := openLogStore(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.close()
	checkEntries(t, st.entries, 1, 8, func(uint64) uint64 { return 1 })
	if n, f := boltEntries(t, path); n != 0 || f != walFormat {
		t.Fatalf("raft.db keeps %d entries, format %d", n, f)
	}
}

// raft.db of format 3 without its WAL is refused: the log is gone.
func TestMissingWALIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, _, err := openLogStore(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.write(&logWrite{entries: mkEntries(1, 3, 1), hardState: hardState(1, 1, 3)})
	s.close()
	os.RemoveAll(filepath.Join(dir, "wal"))
	if _, _, err := openLogStore(dir, 0); !errors.Is(err, errCorruptLog) {
		t.Fatalf("open without the WAL: %v", err)
	}
}

// raft's view keeps a snapshot's metadata only; when raft asks for the
// snapshot (to send it to a follower) the image comes back from bbolt.
func TestRaftGetsTheSnapshotImageFromDisk(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: dir, SnapshotCount: 20})
	defer m.stop()
	proposeAll(t, m, 30, 5)
	m.syncTree()
	store := m.log.Load()
	st, err := store.bolt.load()
	if err != nil || st.snapshot == nil {
		t.Fatalf("no snapshot on disk: %v", err)
	}
	r := &raftActor{store: store, mem: raft.NewMemoryStorage()}
	r.mem.ApplySnapshot(withoutImage(st.snapshot))
	got, err := imageStorage{r.mem, r.snapshotImage}.Snapshot()
	if err != nil || got.GetMetadata().GetIndex() != st.snapshot.GetMetadata().GetIndex() || string(got.GetData()) != string(st.snapshot.GetData()) {
		t.Fatalf("snapshot for raft: %v %q, want the stored %q", err, got.GetData(), st.snapshot.GetData())
	}
	if mem, _ := r.mem.Snapshot(); len(mem.GetData()) != 0 {
		t.Fatalf("the memory view holds the image (%d bytes)", len(mem.GetData()))
	}
}
