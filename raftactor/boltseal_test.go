package raftactor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/raft/v3/raftpb"
)

// flipIn flips one bit of the first occurrence of marker in the file, as a
// bad sector or a stray write would: nothing but the bytes changes.
func flipIn(t *testing.T, path string, marker []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, marker)
	if i < 0 {
		t.Fatalf("%q not in the file", marker)
	}
	b[i+len(marker)-1] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantCorrupt(t *testing.T, path, says string) {
	t.Helper()
	l := openTestLog(t, path)
	defer l.close()
	_, err := l.load()
	if !errors.Is(err, errCorruptLog) || !strings.Contains(err.Error(), says) {
		t.Fatalf("load of a damaged file: %v, want a corrupt log error saying %q", err, says)
	}
}

// One flipped byte inside a stored entry used to be applied as a different
// write; now the file is refused.
func TestFlippedEntryByteIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	if err := l.write(&logWrite{entries: mkEntries(1, 30, 2), hardState: hardState(2, 1, 30)}); err != nil {
		t.Fatal(err)
	}
	l.close()
	flipIn(t, path, []byte("e17-t2"))
	wantCorrupt(t, path, "entry 17 fails its checksum")
}

func TestFlippedHardStateIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	// A commit of 0x515151 is easy to find in the file.
	if err := l.write(&logWrite{entries: mkEntries(1, 3, 2), hardState: hardState(2, 1, 0x515151)}); err != nil {
		t.Fatal(err)
	}
	l.close()
	var enc []byte
	enc = binary.AppendUvarint(enc, 0x515151)
	flipIn(t, path, enc)
	wantCorrupt(t, path, "hard state")
}

func TestFlippedSnapshotIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	snap := &raftpb.Snapshot{Data: []byte("tree-image-with-a-value-v2598"), Metadata: &raftpb.SnapshotMetadata{
		Index: new(uint64(40)), Term: new(uint64(2)), ConfState: &raftpb.ConfState{Voters: []uint64{1}}}}
	if err := l.write(&logWrite{snapshot: snap}); err != nil {
		t.Fatal(err)
	}
	l.close()
	flipIn(t, path, []byte("value-v2598"))
	wantCorrupt(t, path, "snapshot image fails its checksum")
}

// A value that turns up under another key fails too: the key is in the sum.
func TestValueUnderAnotherKeyIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	if err := l.write(&logWrite{entries: mkEntries(1, 3, 1)}); err != nil {
		t.Fatal(err)
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		v := append([]byte(nil), b.Get(u64key(3))...)
		return b.Put(u64key(2), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	l.close()
	wantCorrupt(t, path, "entry 2 fails its checksum")
}

func u64key(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// A file written before values were sealed (format 1) is sealed on open,
// and every entry, the hard state, the conf state and the snapshot read back
// unchanged.
func TestFormat1FileIsSealedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		ents, _ := tx.CreateBucket(bucketEntries)
		for _, e := range mkEntries(5, 12, 3) {
			v := append([]byte{byte(e.GetType())}, binary.AppendUvarint(nil, e.GetTerm())...)
			if err := ents.Put(u64key(e.GetIndex()), append(v, e.GetData()...)); err != nil {
				return err
			}
		}
		meta, _ := tx.CreateBucket(bucketMeta)
		hs := binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint(nil, 3), 1), 12)
		if err := meta.Put(keyHardState, hs); err != nil {
			return err
		}
		snap, _ := tx.CreateBucket(bucketSnap)
		md := []byte{0x10, 4, 0x18, 3} // SnapshotMetadata{index: 4, term: 3}
		if err := snap.Put(keySnapMeta, md); err != nil {
			return err
		}
		return snap.Put(keySnapData, []byte("image@4"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	l := openTestLog(t, path)
	st, err := l.load()
	if err != nil {
		t.Fatalf("load of a format 1 file: %v", err)
	}
	checkEntries(t, st.entries, 5, 12, func(uint64) uint64 { return 3 })
	if st.hardState.GetTerm() != 3 || st.hardState.GetVote() != 1 || st.hardState.GetCommit() != 12 {
		t.Fatalf("hard state %v", st.hardState)
	}
	if md := st.snapshot.GetMetadata(); md.GetIndex() != 4 || md.GetTerm() != 3 || string(st.snapshot.GetData()) != "image@4" {
		t.Fatalf("snapshot %v %q", md, st.snapshot.GetData())
	}
	// Sealed now: a flipped byte is found, as in a file of today's format.
	l.close()
	flipIn(t, path, []byte("e9-t3"))
	wantCorrupt(t, path, "entry 9 fails its checksum")
}

func TestNewerFormatIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	l := openTestLog(t, path)
	if err := l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("4")) }); err != nil {
		t.Fatal(err)
	}
	l.close()
	if _, err := openBoltLog(path); err == nil || !strings.Contains(err.Error(), "format 4") {
		t.Fatalf("open of a format 4 file: %v", err)
	}
}
