package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func ents(lo, hi, term uint64) []*raftpb.Entry {
	var out []*raftpb.Entry
	for i := lo; i <= hi; i++ {
		typ := raftpb.EntryNormal
		out = append(out, &raftpb.Entry{Index: new(i), Term: new(term), Type: &typ, Data: fmt.Appendf(nil, "e%d-t%d", i, term)})
	}
	return out
}

func hs(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: &term, Vote: &vote, Commit: &commit}
}

func mustOpen(t *testing.T, dir string, seg int64) (*WAL, *State) {
	t.Helper()
	w, st, err := Open(dir, seg, 0)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w, st
}

// want checks that st holds exactly entries lo..hi, each of term termOf(i).
func want(t *testing.T, st *State, lo, hi uint64, termOf func(uint64) uint64) {
	t.Helper()
	if hi < lo {
		if len(st.Entries) != 0 {
			t.Fatalf("%d entries, want none", len(st.Entries))
		}
		return
	}
	if uint64(len(st.Entries)) != hi-lo+1 {
		t.Fatalf("%d entries, want %d..%d", len(st.Entries), lo, hi)
	}
	for k, e := range st.Entries {
		i := lo + uint64(k)
		if e.GetIndex() != i || e.GetTerm() != termOf(i) || string(e.GetData()) != fmt.Sprintf("e%d-t%d", i, termOf(i)) {
			t.Fatalf("entry %d: %v", i, e)
		}
	}
}

func term(t uint64) func(uint64) uint64 { return func(uint64) uint64 { return t } }

func TestRoundTripAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	w, st := mustOpen(t, dir, 2048)
	want(t, st, 1, 0, nil)
	for i := uint64(1); i <= 300; i += 10 {
		w.Append(hs(2, 1, i), ents(i, i+9, 2))
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if w.Segments() < 3 {
		t.Fatalf("300 entries in 2 KiB segments took %d segments", w.Segments())
	}
	w.Close()
	w, st = mustOpen(t, dir, 2048)
	want(t, st, 1, 300, term(2))
	if st.HardState.GetCommit() != 291 || st.Torn {
		t.Fatalf("hard state %v torn %v", st.HardState, st.Torn)
	}
	// A follower's tail overwritten at 295 by a new leader's entries.
	w.Append(hs(3, 2, 294), ents(295, 297, 3))
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, st = mustOpen(t, dir, 2048)
	want(t, st, 1, 297, func(i uint64) uint64 {
		if i >= 295 {
			return 3
		}
		return 2
	})
}

func TestSnapshotMarkAndRelease(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpen(t, dir, 2048)
	for i := uint64(1); i <= 200; i += 5 {
		w.Append(hs(1, 1, i+4), ents(i, i+4, 1))
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	before := w.Segments()
	w.MarkSnapshot(150, 1, false)
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.ReleaseTo(120); err != nil {
		t.Fatal(err)
	}
	if w.Segments() >= before {
		t.Fatalf("release to 120 kept all %d segments", before)
	}
	w.Close()
	_, st := mustOpen(t, dir, 2048)
	if st.SnapIndex != 150 || st.SnapTerm != 1 || st.HardState.GetCommit() != 200 {
		t.Fatalf("snapshot %d/%d hard state %v", st.SnapIndex, st.SnapTerm, st.HardState)
	}
	want(t, st, 151, 200, term(1))
}

// The last batch cut short at every byte offset of its last record (zeros
// from there on, as a crash leaves a preallocated segment): the log opens
// with every record before it, and takes new appends after them. A segment
// made shorter instead is refused: a crash never shrinks one.
func TestTornTailAtEveryOffsetIsCut(t *testing.T) {
	base := t.TempDir()
	w, _ := mustOpen(t, base, 1<<16)
	w.Append(hs(1, 1, 10), ents(1, 10, 1))
	w.Sync()
	start := w.off
	w.Append(nil, ents(11, 11, 1))
	w.Sync()
	end := w.off
	w.Close()
	seg := filepath.Join(base, segName(0, 1))
	orig, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	for cut := start; cut < end; cut++ {
		dir := t.TempDir()
		b := append([]byte(nil), orig...)
		clear(b[cut:end])
		os.WriteFile(filepath.Join(dir, segName(0, 1)), b, 0o600)
		w, st, err := Open(dir, 1<<16, 0)
		if err != nil {
			t.Fatalf("zeroed at %d: %v", cut, err)
		}
		want(t, st, 1, 10, term(1))
		if !st.Torn && cut > start {
			t.Fatalf("zeroed at %d: not reported torn", cut)
		}
		w.Append(nil, ents(11, 12, 2))
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		_, st = mustOpen(t, dir, 1<<16)
		want(t, st, 1, 12, func(i uint64) uint64 {
			if i > 10 {
				return 2
			}
			return 1
		})

		os.WriteFile(filepath.Join(dir, segName(0, 1)), orig[:cut], 0o600)
		if _, _, err := Open(dir, 1<<16, 0); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("a segment truncated to %d bytes: %v, want a refusal", cut, err)
		}
	}
}

// A record that fails its CRC with records after it is damage, not a torn
// write: the log is refused, in the last segment and in an earlier one.
func TestCorruptRecordInTheMiddleIsRefused(t *testing.T) {
	for _, seg := range []int64{1 << 16, 1024} {
		dir := t.TempDir()
		w, _ := mustOpen(t, dir, seg)
		for i := uint64(1); i <= 60; i += 3 {
			w.Append(hs(1, 1, i), ents(i, i+2, 1))
			w.Sync()
		}
		w.Close()
		path := filepath.Join(dir, segName(0, 1))
		b, _ := os.ReadFile(path)
		i := indexOf(b, "e5-t1")
		b[i] ^= 0x20
		os.WriteFile(path, b, 0o600)
		if _, _, err := Open(dir, seg, 0); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("segments of %d bytes: open of a log with a flipped byte: %v", seg, err)
		}
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	panic("not found: " + s)
}

// FuzzReadRecords feeds the reader arbitrary segment bytes: it must never
// panic, and whatever it accepts must re-encode to the bytes it read.
func FuzzReadRecords(f *testing.F) {
	var b []byte
	b = appendHardState(b, hs(1, 2, 3))
	b = appendEntry(b, ents(4, 4, 1)[0])
	b = appendSnapshot(b, 3, 1, false)
	f.Add(b)
	f.Add(append(b, 0, 0, 0, 0, 9))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var again []byte
		off, _, _ := readRecords(b, 0, 0, func(r *record) error {
			switch r.typ {
			case recEntry:
				again = appendEntry(again, r.entry)
			case recHardState:
				again = appendHardState(again, r.hs)
			case recSnapshot:
				again = appendSnapshot(again, r.snapIdx, r.snapTrm, r.replace)
			case recSegment:
				again = appendSegment(again, int64(r.segSize))
			}
			return nil
		})
		if off < 0 || off > len(b) {
			t.Fatalf("stopped at %d of %d", off, len(b))
		}
		if string(again) != string(b[:len(again)]) || len(again) != off {
			// Decoding is canonical for what this package writes; an input
			// with a non-minimal varint decodes but re-encodes shorter.
			if len(again) > off {
				t.Fatalf("re-encoded %d bytes from %d read", len(again), off)
			}
		}
	})
}

// A value of NULs longer than a read chunk is read whole, not taken for the
// zeros after the last record.
func TestZerosInsideARecordAreData(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpen(t, dir, 8<<20)
	typ := raftpb.EntryNormal
	big := &raftpb.Entry{Index: new(uint64(1)), Term: new(uint64(1)), Type: &typ, Data: make([]byte, 3*readChunk)}
	w.Append(hs(1, 1, 1), []*raftpb.Entry{big})
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Append(hs(1, 1, 2), ents(2, 2, 1))
	w.Sync()
	w.Close()
	_, st := mustOpen(t, dir, 8<<20)
	if len(st.Entries) != 2 || len(st.Entries[0].GetData()) != 3*readChunk || st.Torn || st.HardState.GetCommit() != 2 {
		t.Fatalf("%d entries, torn %v, hard state %v", len(st.Entries), st.Torn, st.HardState)
	}
}

// Replay streams a segment in chunks: a log of several chunks, torn in its
// last record, opens with every record before it.
func TestTornTailAfterSeveralChunks(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpen(t, dir, 16<<20)
	for i := uint64(1); i <= 90000; i += 100 {
		w.Append(hs(1, 1, i+99), ents(i, i+99, 1))
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	before := w.off
	w.Append(nil, ents(90001, 90001, 1))
	w.Sync()
	w.Close()
	if before < 2*readChunk {
		t.Fatalf("only %d bytes: not several chunks", before)
	}
	path := filepath.Join(dir, segName(0, 1))
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt(make([]byte, 64), before+10) // the end of the last write never reached the disk
	f.Close()
	_, st := mustOpen(t, dir, 16<<20)
	want(t, st, 1, 90000, term(1))
	if !st.Torn {
		t.Fatal("not reported torn")
	}
}
