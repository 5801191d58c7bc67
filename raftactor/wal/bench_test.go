package wal

import (
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// BenchmarkReplayBehindSnapshot opens a segment of 300k small entries of
// which a snapshot covers all but the last 5k: the restart of a member that
// holds 300k keys. Replay checks every record and keeps only the last ones.
func BenchmarkReplayBehindSnapshot(b *testing.B) {
	dir := b.TempDir()
	w, _, err := Open(dir, 64<<20, 0)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 100)
	typ := raftpb.EntryNormal
	for i := uint64(1); i <= 300000; i += 1000 {
		batch := make([]*raftpb.Entry, 0, 1000)
		for j := i; j < i+1000; j++ {
			batch = append(batch, &raftpb.Entry{Index: new(j), Term: new(uint64(2)), Type: &typ, Data: data})
		}
		w.Append(hs(2, 1, i+999), batch)
		if err := w.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		w, st, err := Open(dir, 64<<20, 295000)
		if err != nil || len(st.Entries) != 5000 {
			b.Fatalf("open: %v, %d entries", err, len(st.Entries))
		}
		w.Close()
	}
}
