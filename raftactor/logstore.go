package raftactor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/etcdv2/server/raftactor/wal"
	bolt "go.etcd.io/bbolt"
	"go.etcd.io/raft/v3/raftpb"
)

// logStore is the member's durable raft state in two files, each doing what
// it is good at: the entries and the hard state go to the write-ahead log
// (member/wal: one write and one fdatasync per batch); the snapshot and the
// membership, read by key and written rarely, stay in bbolt
// (member/raft.db). A snapshot is made durable in bbolt before the WAL marks
// it, and WAL segments are released only behind it, so a crash between the
// two loses nothing.
type logStore struct {
	bolt *boltLog
	wal  *wal.WAL

	// compactTo is the highest release a staged snapshot asked for; the
	// next sync does it, once the snapshot's mark is durable.
	compactTo uint64

	// written is raft.db's note that the WAL has held records: a WAL found
	// empty after that has lost the log.
	written bool

	syncs atomic.Uint64 // batches made durable (tests read it from other goroutines)
	// fault, set by tests, fails a write before it touches a file, as a
	// full disk would.
	fault func() error
}

// Format 3 of raft.db keeps no entries or hard state: they are in the WAL.
// A file of format 2 (the log in bbolt) is moved into a new WAL on open:
// the WAL is written whole beside its final place and renamed into it, and
// only then are the entries taken out of bbolt, so a crash at any point
// leaves one complete copy.
const walFormat = 3

func walDir(memberDir string) string { return filepath.Join(memberDir, "wal") }

// openLogStore opens both files of memberDir and reads what they hold.
func openLogStore(memberDir string, segSize int64) (*logStore, *logState, error) {
	path := filepath.Join(memberDir, "raft.db")
	var b *boltLog
	err := guard("opening "+path, func() (err error) {
		b, err = openBoltLog(path)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	st, err := readBolt(b, path)
	if err == nil {
		err = moveLogToWAL(b, st, memberDir)
	}
	if err != nil {
		b.close()
		return nil, nil, err
	}
	w, ws, err := wal.Open(walDir(memberDir), segSize, st.snapshot.GetMetadata().GetIndex())
	if err != nil {
		b.close()
		if errors.Is(err, wal.ErrCorrupt) {
			err = fmt.Errorf("%w: %v", errCorruptLog, err)
		}
		return nil, nil, err
	}
	written, err := b.walWritten()
	if err == nil && written && ws.HardState == nil && len(ws.Entries) == 0 && ws.SnapIndex == 0 {
		err = fmt.Errorf("%w: %s holds no record, but raft.db says it held the log", errCorruptLog, walDir(memberDir))
	}
	if err != nil {
		w.Close()
		b.close()
		return nil, nil, err
	}
	st.hardState, st.entries = ws.HardState, ws.Entries
	return &logStore{bolt: b, wal: w, written: written}, st, nil
}

func readBolt(b *boltLog, path string) (st *logState, err error) {
	err = guard("reading "+path, func() (err error) {
		st, err = b.load()
		return err
	})
	return st, err
}

// moveLogToWAL finishes the move of a format 2 file's log into the WAL.
func moveLogToWAL(b *boltLog, st *logState, memberDir string) error {
	dir, tmp := walDir(memberDir), walDir(memberDir)+".tmp"
	if err := os.RemoveAll(tmp); err != nil { // a move a crash interrupted
		return err
	}
	format, err := b.format()
	if err != nil {
		return err
	}
	if wal.Exists(dir) {
		if format < walFormat {
			return b.dropLog() // the WAL was complete; bbolt's copy goes
		}
		return nil
	}
	if format >= walFormat {
		return fmt.Errorf("%w: %s is missing but raft.db says the log is there", errCorruptLog, dir)
	}
	w, _, err := wal.Open(tmp, 0, 0)
	if err != nil {
		return err
	}
	if s := st.snapshot; s != nil {
		w.MarkSnapshot(s.GetMetadata().GetIndex(), s.GetMetadata().GetTerm(), false)
	}
	w.Append(st.hardState, st.entries)
	err = w.Sync()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err == nil {
		err = wal.SyncDir(memberDir)
	}
	if err != nil {
		return fmt.Errorf("moving the raft log into %s: %w", dir, err)
	}
	return b.dropLog()
}

// write makes w durable on its own: stage, then sync.
func (s *logStore) write(w *logWrite) error {
	if err := s.stage(w); err != nil {
		return err
	}
	return s.sync(nil)
}

// meter has the log report to m from now on: the WAL its fdatasyncs and
// bytes, raft.db its write transactions.
func (s *logStore) meter(m *diskMetrics) {
	s.wal.SetMeters(m.walFsync, m.walBytes)
	s.bolt.commits = m.backendCommit
}

// stage adds w to the batch the next sync makes durable. The snapshot and
// the membership go to bbolt at once (a transaction of their own, durable
// before the WAL marks the snapshot); the entries and hard state only into
// the WAL's buffer, so that many stages share one fdatasync.
func (s *logStore) stage(w *logWrite) error {
	if err := s.checkFault(); err != nil {
		return err
	}
	if w.snapshot != nil || w.confState != nil {
		if err := s.bolt.write(&logWrite{snapshot: w.snapshot, confState: w.confState}); err != nil {
			return err
		}
	}
	if sn := w.snapshot; sn != nil {
		s.wal.MarkSnapshot(sn.GetMetadata().GetIndex(), sn.GetMetadata().GetTerm(), w.dropEntries)
	}
	s.wal.Append(w.hardState, w.entries)
	s.compactTo = max(s.compactTo, w.compactTo)
	return nil
}

// checkFault is the tests' stand-in for a full disk.
func (s *logStore) checkFault() error {
	if s.fault != nil {
		return s.fault()
	}
	return nil
}

// markSnapshot records in the WAL a snapshot raft.db already holds, and the
// release of the segments behind compactTo after the next sync.
func (s *logStore) markSnapshot(sn *raftpb.Snapshot, compactTo uint64) {
	s.wal.MarkSnapshot(sn.GetMetadata().GetIndex(), sn.GetMetadata().GetTerm(), false)
	s.compactTo = max(s.compactTo, compactTo)
}

// sync makes everything staged durable with one write and one fdatasync of
// the WAL, hs (nil: none) last, then releases the WAL segments a staged
// snapshot covers.
func (s *logStore) sync(hs *raftpb.HardState) error {
	s.wal.Append(hs, nil)
	if err := s.wal.Sync(); err != nil {
		return err
	}
	s.syncs.Add(1)
	if !s.written {
		if err := s.bolt.noteWALWritten(); err != nil {
			return err
		}
		s.written = true
	}
	if to := s.compactTo; to > 0 {
		s.compactTo = 0
		return s.wal.ReleaseTo(to)
	}
	return nil
}

// reset undoes what a failed write may have left in the WAL (see wal.Reset)
// and closes both files.
func (s *logStore) reset() error {
	err := s.wal.Reset()
	if cerr := s.bolt.close(); err == nil {
		err = cerr
	}
	return err
}

func (s *logStore) close() error {
	err := s.wal.Close()
	if cerr := s.bolt.close(); err == nil {
		err = cerr
	}
	return err
}

// format is raft.db's value layout (see boltformat.go).
func (l *boltLog) format() (f int, err error) {
	err = l.db.View(func(tx *bolt.Tx) error {
		f, err = readFormat(tx)
		return err
	})
	return f, err
}

// dropLog takes the entries and the hard state out of the file, now that the
// WAL has them, and records format 3.
func (l *boltLog) dropLog() error {
	return l.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketEntries); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketEntries); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyHardState) != nil {
			if err := meta.Put(keyWALWritten, []byte{1}); err != nil {
				return err
			}
		}
		if err := meta.Delete(keyHardState); err != nil {
			return err
		}
		return meta.Put(keyFormat, []byte(fmt.Sprint(walFormat)))
	})
}

var keyWALWritten = []byte("walwritten")

func (l *boltLog) walWritten() (yes bool, err error) {
	err = l.db.View(func(tx *bolt.Tx) error {
		yes = tx.Bucket(bucketMeta).Get(keyWALWritten) != nil
		return nil
	})
	return yes, err
}

func (l *boltLog) noteWALWritten() error {
	return l.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyWALWritten, []byte{1}) })
}
