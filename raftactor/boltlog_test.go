package raftactor

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func openTestLog(t testing.TB, path string) *boltLog {
	t.Helper()
	l, err := openBoltLog(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

func reopen(t *testing.T, l *boltLog, path string) *boltLog {
	t.Helper()
	if err := l.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return openTestLog(t, path)
}

func mkEntries(lo, hi, term uint64) []*raftpb.Entry {
	var out []*raftpb.Entry
	for i := lo; i <= hi; i++ {
		typ := raftpb.EntryNormal
		out = append(out, &raftpb.Entry{Index: new(i), Term: new(term), Type: &typ, Data: fmt.Appendf(nil, "e%d-t%d", i, term)})
	}
	return out
}

func hardState(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: &term, Vote: &vote, Commit: &commit}
}

// checkEntries asserts got holds exactly indexes lo..hi with the data
// mkEntries gives them, term per index from termOf.
func checkEntries(t *testing.T, got []*raftpb.Entry, lo, hi uint64, termOf func(uint64) uint64) {
	t.Helper()
	if uint64(len(got)) != hi-lo+1 {
		t.Fatalf("got %d entries, want %d..%d", len(got), lo, hi)
	}
	for i, e := range got {
		idx := lo + uint64(i)
		term := termOf(idx)
		if e.GetIndex() != idx || e.GetTerm() != term || e.GetType() != raftpb.EntryNormal {
			t.Fatalf("entry %d: index %d term %d type %v, want index %d term %d", i, e.GetIndex(), e.GetTerm(), e.GetType(), idx, term)
		}
		if want := fmt.Sprintf("e%d-t%d", idx, term); string(e.GetData()) != want {
			t.Fatalf("entry %d data %q, want %q", idx, e.GetData(), want)
		}
	}
}

func TestBoltLogAppendReopenLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	st, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	if st.hardState != nil || st.confState != nil || st.snapshot != nil || len(st.entries) != 0 {
		t.Fatalf("fresh log not empty: %+v", st)
	}
	if err := l.write(&logWrite{entries: mkEntries(1, 10, 1), hardState: hardState(1, 1, 4)}); err != nil {
		t.Fatal(err)
	}
	if err := l.write(&logWrite{entries: mkEntries(11, 25, 1)}); err != nil {
		t.Fatal(err)
	}
	// An entry with no data (a leader's empty entry) survives as such.
	empty := &raftpb.Entry{Index: new(uint64(26)), Term: new(uint64(2))}
	if err := l.write(&logWrite{entries: []*raftpb.Entry{empty}}); err != nil {
		t.Fatal(err)
	}
	if got := l.updates.Load(); got != 3 {
		t.Fatalf("updates = %d, want 3", got)
	}
	l = reopen(t, l, path)
	defer l.close()
	st, err = l.load()
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, st.entries[:25], 1, 25, func(uint64) uint64 { return 1 })
	last := st.entries[25]
	if last.GetIndex() != 26 || last.GetTerm() != 2 || len(last.GetData()) != 0 {
		t.Fatalf("empty entry came back as %v", last)
	}
	if hs := st.hardState; hs.GetTerm() != 1 || hs.GetVote() != 1 || hs.GetCommit() != 4 {
		t.Fatalf("hard state %v", hs)
	}
}

func TestBoltLogTruncateAndOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	if err := l.write(&logWrite{entries: mkEntries(1, 10, 1)}); err != nil {
		t.Fatal(err)
	}
	// A new leader overwrites the tail from 6: 9 and 10 must go too.
	if err := l.write(&logWrite{entries: mkEntries(6, 8, 2)}); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	defer l.close()
	st, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, st.entries, 1, 8, func(i uint64) uint64 {
		if i >= 6 {
			return 2
		}
		return 1
	})
}

func TestBoltLogHardAndConfState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	big := uint64(1) << 62
	if err := l.write(&logWrite{hardState: hardState(big, 7, big-1)}); err != nil {
		t.Fatal(err)
	}
	cs := &raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{9}}
	// Writing entries alone leaves the hard state as it was.
	if err := l.write(&logWrite{entries: mkEntries(1, 3, 1), confState: cs}); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	defer l.close()
	st, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	if hs := st.hardState; hs.GetTerm() != big || hs.GetVote() != 7 || hs.GetCommit() != big-1 {
		t.Fatalf("hard state %v", hs)
	}
	if got := st.confState; fmt.Sprint(got.GetVoters(), got.GetLearners()) != "[1 2 3] [9]" {
		t.Fatalf("conf state %v", got)
	}
}

func TestBoltLogSnapshotAndCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	// Batches of 37 so compaction crosses write boundaries.
	for lo := uint64(1); lo <= 200; lo += 37 {
		if err := l.write(&logWrite{entries: mkEntries(lo, min(lo+36, 200), 3)}); err != nil {
			t.Fatal(err)
		}
	}
	data := bytes.Repeat([]byte("tree"), 10000)
	snap := &raftpb.Snapshot{
		Data: data,
		Metadata: &raftpb.SnapshotMetadata{
			Index: new(uint64(150)), Term: new(uint64(3)),
			ConfState: &raftpb.ConfState{Voters: []uint64{1}},
		},
	}
	if err := l.write(&logWrite{snapshot: snap, hardState: hardState(3, 1, 190), compactTo: 120}); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	st, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, st.entries, 121, 200, func(uint64) uint64 { return 3 })
	md := st.snapshot.GetMetadata()
	if md.GetIndex() != 150 || md.GetTerm() != 3 || fmt.Sprint(md.GetConfState().GetVoters()) != "[1]" {
		t.Fatalf("snapshot metadata %v", md)
	}
	if !bytes.Equal(st.snapshot.GetData(), data) {
		t.Fatalf("snapshot data: %d bytes, want %d", len(st.snapshot.GetData()), len(data))
	}
	// A later snapshot replaces it; compacting again removes only the next
	// stretch, and compacting below the first entry is a no-op.
	snap.Metadata.Index = new(uint64(180))
	snap.Data = []byte("later")
	if err := l.write(&logWrite{snapshot: snap, compactTo: 160}); err != nil {
		t.Fatal(err)
	}
	if err := l.write(&logWrite{compactTo: 100}); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	defer l.close()
	st, err = l.load()
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, st.entries, 161, 200, func(uint64) uint64 { return 3 })
	if st.snapshot.GetMetadata().GetIndex() != 180 || string(st.snapshot.GetData()) != "later" {
		t.Fatalf("snapshot %v", st.snapshot)
	}
	if st.hardState.GetCommit() != 190 {
		t.Fatalf("hard state %v", st.hardState)
	}
}

func TestBoltLogSnapshotFromLeaderDropsLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	if err := l.write(&logWrite{entries: mkEntries(1, 50, 1)}); err != nil {
		t.Fatal(err)
	}
	snap := &raftpb.Snapshot{Data: []byte("s"), Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(500)), Term: new(uint64(4))}}
	if err := l.write(&logWrite{snapshot: snap, dropEntries: true, entries: mkEntries(501, 505, 4)}); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, l, path)
	defer l.close()
	st, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, st.entries, 501, 505, func(uint64) uint64 { return 4 })
	if st.snapshot.GetMetadata().GetIndex() != 500 {
		t.Fatalf("snapshot %v", st.snapshot)
	}
}

func TestBoltLogLoadRejectsGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	defer l.close()
	if err := l.write(&logWrite{entries: mkEntries(1, 3, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := l.write(&logWrite{entries: mkEntries(5, 6, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.load(); !errors.Is(err, errCorruptLog) {
		t.Fatalf("load of a log with a gap: %v, want errCorruptLog", err)
	}
}

// BenchmarkAppendBatch50 is the group-commit unit: one durable write of 50
// entries of ~100 bytes. ns/op is the cost of one batch, fsyncs included.
func BenchmarkAppendBatch50(b *testing.B) {
	benchAppend(b, 50)
}

// BenchmarkAppendBatch1 is the same with one entry per write: the fixed cost
// a commit pays however little it carries.
func BenchmarkAppendBatch1(b *testing.B) {
	benchAppend(b, 1)
}

// BenchmarkAppendBatch50NoSync measures the same batch without fsync (never
// done outside this benchmark): the difference to BenchmarkAppendBatch50 is
// what the disk costs.
func BenchmarkAppendBatch50NoSync(b *testing.B) {
	benchAppend(b, 50, func(l *boltLog) { l.db.NoSync = true })
}

func benchAppend(b *testing.B, n int, tune ...func(*boltLog)) {
	l := openTestLog(b, filepath.Join(b.TempDir(), "raft.db"))
	defer l.close()
	for _, f := range tune {
		f(l)
	}
	data := bytes.Repeat([]byte("x"), 100)
	typ := raftpb.EntryNormal
	ents := make([]*raftpb.Entry, n)
	next := uint64(1)
	hs := hardState(1, 1, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := range ents {
			ents[i] = &raftpb.Entry{Index: new(next), Term: new(uint64(1)), Type: &typ, Data: data}
			next++
		}
		hs.Commit = new(next - 1)
		if err := l.write(&logWrite{entries: ents, hardState: hs}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
}
