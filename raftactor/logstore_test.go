package raftactor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
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
// snapshot (to send it to a follower) the image comes back from bbolt,
// read by the log writer: the first ask is told to come back, the next gets
// the stored image, once.
func TestRaftGetsTheSnapshotImageFromDisk(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 1, DataDir: dir, SnapshotCount: 20})
	proposeAll(t, m, 30, 5)
	m.syncTree()
	m.stop()
	store, st, err := openLogStore(filepath.Join(dir, "member"), 0)
	if err != nil || st.snapshot == nil {
		t.Fatalf("no snapshot on disk: %v", err)
	}
	r := &raftActor{mem: raft.NewMemoryStorage()}
	r.mem.ApplySnapshot(withoutImage(st.snapshot))
	storage := imageStorage{r.mem, r.snapshotImage}
	// host plays the raft actor's goroutine: r is touched only there.
	host := &funcActor{done: make(chan struct{}, 1)}
	read := make(chan struct{}, 1)
	hostPID := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return host }))
	host.onRead = func(m *snapshotRead) { r.onSnapshotRead(m); read <- struct{}{} }
	r.writer = sys.Root.Spawn(logWriterProps(Config{DataDir: dir}, hostPID, store, st))
	defer func() { sys.Root.RequestFuture(r.writer, &closeLog{}, waitLimit).Wait() }()

	var got *raftpb.Snapshot
	host.run(t, sys, hostPID, func(ctx actor.Context) {
		r.ctx = ctx
		got, err = storage.Snapshot()
	})
	if !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
		t.Fatalf("first ask: %v, want temporarily unavailable", err)
	}
	await(t, read)
	host.run(t, sys, hostPID, func(ctx actor.Context) {
		r.ctx = ctx
		got, err = storage.Snapshot()
	})
	if err != nil || got.GetMetadata().GetIndex() != st.snapshot.GetMetadata().GetIndex() || string(got.GetData()) != string(st.snapshot.GetData()) {
		t.Fatalf("snapshot for raft: %v %q, want the stored %q", err, got.GetData(), st.snapshot.GetData())
	}
	if mem, _ := r.mem.Snapshot(); len(mem.GetData()) != 0 {
		t.Fatalf("the memory view holds the image (%d bytes)", len(mem.GetData()))
	}
	if r.image != nil {
		t.Fatal("the image is kept after raft took it")
	}
}

// funcActor runs functions on its own goroutine, as an actor would.
type funcActor struct {
	onRead func(*snapshotRead)
	done   chan struct{}
}

type runFunc struct{ fn func(actor.Context) }

func (f *funcActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *runFunc:
		m.fn(ctx)
		f.done <- struct{}{}
	case *snapshotRead:
		f.onRead(m)
	}
}

// run runs fn in the actor at pid and waits for it.
func (f *funcActor) run(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, fn func(actor.Context)) {
	t.Helper()
	sys.Root.Send(pid, &runFunc{fn: fn})
	await(t, f.done)
}
