package raftactor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"go.etcd.io/raft/v3/raftpb"
)

// The bbolt file holds two buckets: "entries", keyed by the 8-byte big-endian
// raft index (so keys sort in log order and appends land on the right edge of
// the B+tree), and "meta" with the hard state, the last applied conf state
// and the latest snapshot (metadata and data under separate keys, so the
// metadata is read without touching a large tree image).
var (
	bucketEntries = []byte("entries")
	bucketMeta    = []byte("meta")
	// The snapshot has a bucket of its own: beside the hard state it would
	// share a leaf with it, and every batch's hard-state write would rewrite
	// the whole snapshot (hundreds of KiB) into new pages.
	bucketSnap   = []byte("snapshot")
	keyHardState = []byte("hardstate")
	keyConfState = []byte("confstate")
	keySnapMeta  = []byte("snapmeta")
	keySnapData  = []byte("snapdata")
	keySnapSum   = []byte("snapsum")
	// keyFormat names the layout of the values (see boltformat.go).
	keyFormat = []byte("format")
)

// errCorruptLog reports a file whose contents break the log's invariants.
var errCorruptLog = errors.New("raft log: corrupt")

// boltLog is the durable raft log. One goroutine at a time writes it (the
// log writer's, once the member runs), but for the tree's snapshots, which
// a goroutine of their own stores with writeSnapshotIfNewer: bbolt
// serializes the transactions, and that path touches no scratch below.
// updates is read by tests from other goroutines, hence atomic.
type boltLog struct {
	db *bolt.DB

	// Scratch for keys and values: bbolt keeps references to what Put is
	// given until the transaction commits, so every Put of one batch gets its
	// own slice of these, and they are reused by the next batch.
	keys []byte
	vals []byte

	updates atomic.Uint64 // committed read-write transactions
	// commits, once the log writer meters the log, takes each write
	// transaction's seconds (etcd's backend commit duration).
	commits prometheus.Observer
}

// update is db.Update, timed for commits.
func (l *boltLog) update(fn func(*bolt.Tx) error) error {
	if l.commits == nil {
		return l.db.Update(fn)
	}
	start := time.Now()
	err := l.db.Update(fn)
	observeSince(l.commits, start)
	return err
}

// logState is everything the file holds, copied out of bbolt.
type logState struct {
	hardState *raftpb.HardState // nil if never written
	confState *raftpb.ConfState // nil if never written
	snapshot  *raftpb.Snapshot  // nil if none taken
	entries   []*raftpb.Entry   // contiguous, in index order
}

// logWrite is one durable step, written in a single transaction.
type logWrite struct {
	// snapshot, if set, is stored as the latest snapshot. With dropEntries
	// the whole log is discarded first (a snapshot received from the leader
	// replaces the log, as raft's MemoryStorage does).
	snapshot    *raftpb.Snapshot
	dropEntries bool
	// entries are appended; stored entries at or after the first of them are
	// deleted first (a follower may be told to overwrite its tail).
	entries   []*raftpb.Entry
	hardState *raftpb.HardState
	confState *raftpb.ConfState
	// compactTo deletes every entry with index ≤ compactTo.
	compactTo uint64
}

func openBoltLog(path string) (*boltLog, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		// A second opener (a restarted actor whose predecessor has not
		// closed yet) fails instead of waiting forever on the file lock.
		Timeout:         5 * time.Second,
		InitialMmapSize: 64 << 20,
		// The freelist is rebuilt on open rather than written on every
		// commit: fewer pages per fsync.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEntries, bucketSnap, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return settleFormat(tx)
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltLog{db: db}, nil
}

func (l *boltLog) close() error { return l.db.Close() }

// load reads the whole file. Entries at or below the snapshot index (the slack
// kept for slow followers) are returned too; the caller decides what to keep.
func (l *boltLog) load() (*logState, error) {
	st := &logState{}
	err := l.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyHardState); v != nil {
			hs, err := decodeHardState(v)
			if err != nil {
				return err
			}
			st.hardState = hs
		}
		if v := meta.Get(keyConfState); v != nil {
			cs := &raftpb.ConfState{}
			if err := unsealProto(keyConfState, v, "conf state", cs); err != nil {
				return err
			}
			st.confState = cs
		}
		snap := tx.Bucket(bucketSnap)
		if v := snap.Get(keySnapMeta); v != nil {
			md := &raftpb.SnapshotMetadata{}
			if err := unsealProto(keySnapMeta, v, "snapshot metadata", md); err != nil {
				return err
			}
			data := snap.Get(keySnapData)
			if err := checkSnapSum(snap.Get(keySnapSum), data); err != nil {
				return err
			}
			st.snapshot = &raftpb.Snapshot{Metadata: md, Data: append([]byte(nil), data...)}
		}
		c := tx.Bucket(bucketEntries).Cursor()
		var want uint64
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("%w: entry key of %d bytes", errCorruptLog, len(k))
			}
			idx := binary.BigEndian.Uint64(k)
			if want != 0 && idx != want {
				return fmt.Errorf("%w: entry %d follows %d", errCorruptLog, idx, want-1)
			}
			e, err := decodeEntry(idx, k, v)
			if err != nil {
				return err
			}
			st.entries = append(st.entries, e)
			want = idx + 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// write applies w in one read-write transaction: one commit, one durable
// step, whatever the batch size.
func (l *boltLog) write(w *logWrite) error {
	l.stage(w.entries)
	err := l.update(func(tx *bolt.Tx) error {
		if w.dropEntries {
			if err := tx.DeleteBucket(bucketEntries); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(bucketEntries); err != nil {
				return err
			}
		}
		ents := tx.Bucket(bucketEntries)
		// Appends are sequential: full pages instead of half-empty splits.
		ents.FillPercent = 1.0
		meta := tx.Bucket(bucketMeta)
		if w.snapshot != nil {
			if err := putSnapshot(tx, w.snapshot); err != nil {
				return err
			}
		}
		if w.compactTo > 0 {
			if err := deleteFrom(ents, 0, w.compactTo); err != nil {
				return err
			}
		}

		if len(w.entries) > 0 {
			if err := l.putEntries(ents, w.entries); err != nil {
				return err
			}
		}
		if w.hardState != nil {
			if err := meta.Put(keyHardState, encodeHardState(w.hardState)); err != nil {
				return err
			}
		}
		if w.confState != nil {
			cs, err := sealedProto(keyConfState, w.confState)
			if err != nil {
				return err
			}
			if err := meta.Put(keyConfState, cs); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		l.updates.Add(1)
	}
	return err
}

// stage encodes the keys and values of ents into the scratch buffers.
func (l *boltLog) stage(ents []*raftpb.Entry) {
	if len(ents) == 0 {
		return
	}
	need := 0
	for _, e := range ents {
		need += entryValueLen(e)
	}
	if cap(l.keys) < 8*len(ents) {
		l.keys = make([]byte, 0, 8*len(ents)*2)
	}
	if cap(l.vals) < need {
		l.vals = make([]byte, 0, need*2)
	}
	l.keys = l.keys[:0]
	l.vals = l.vals[:0]
	for _, e := range ents {
		l.keys = binary.BigEndian.AppendUint64(l.keys, e.GetIndex())
		l.vals = appendEntryValue(l.vals, l.keys[len(l.keys)-8:], e)
	}
}

// putEntries stores the staged entries after deleting any stored entry at or
// after the first of them.
func (l *boltLog) putEntries(b *bolt.Bucket, ents []*raftpb.Entry) error {
	first := ents[0].GetIndex()
	if k, _ := b.Cursor().Last(); k != nil && binary.BigEndian.Uint64(k) >= first {
		if err := deleteFrom(b, first, binary.BigEndian.Uint64(k)); err != nil {
			return err
		}
	}
	vals := l.vals
	for i, e := range ents {
		n := entryValueLen(e)
		if err := b.Put(l.keys[8*i:8*i+8:8*i+8], vals[:n:n]); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// deleteFrom deletes the entries with lo ≤ index ≤ hi (lo 0: from the first
// stored). Keys are computed, not walked with a cursor: deleting under a
// cursor that is iterating makes it skip keys.
func deleteFrom(b *bolt.Bucket, lo, hi uint64) error {
	k, _ := b.Cursor().First()
	if k == nil {
		return nil
	}
	lo = max(lo, binary.BigEndian.Uint64(k))
	var key [8]byte
	for i := lo; i <= hi && i != 0; i++ {
		binary.BigEndian.PutUint64(key[:], i)
		if err := b.Delete(key[:]); err != nil {
			return err
		}
	}
	return nil
}

// writeSnapshotIfNewer stores snap unless raft.db already holds one at its
// index or past it, in one transaction; it reports whether it stored it. It
// runs off the log writer's goroutine (bbolt serializes its writers), so a
// leader's newer snapshot stored meanwhile must win over this one.
func (l *boltLog) writeSnapshotIfNewer(snap *raftpb.Snapshot) (stored bool, err error) {
	err = l.update(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSnap).Get(keySnapMeta); v != nil {
			md := &raftpb.SnapshotMetadata{}
			if err := unsealProto(keySnapMeta, v, "snapshot metadata", md); err != nil {
				return err
			}
			if md.GetIndex() >= snap.GetMetadata().GetIndex() {
				return nil
			}
		}
		stored = true
		return putSnapshot(tx, snap)
	})
	return stored && err == nil, err
}

func putSnapshot(tx *bolt.Tx, s *raftpb.Snapshot) error {
	md, err := sealedProto(keySnapMeta, s.GetMetadata())
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketSnap)
	if err := b.Put(keySnapMeta, md); err != nil {
		return err
	}
	if err := b.Put(keySnapData, s.GetData()); err != nil {
		return err
	}
	return b.Put(keySnapSum, snapSum(s.GetData()))
}
