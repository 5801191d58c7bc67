package wal

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// DefaultSegmentSize is what each segment file is preallocated to.
const DefaultSegmentSize = 64 << 20

// State is what replaying the log found.
type State struct {
	HardState *raftpb.HardState // nil if none was written
	// SnapIndex and SnapTerm are the newest snapshot mark (0: none):
	// Entries start after it.
	SnapIndex, SnapTerm uint64
	Entries             []*raftpb.Entry
	// Torn says a torn tail was cut (bytes of a write the crash interrupted).
	Torn bool
}

type segment struct {
	seq, first uint64
	path       string
}

// WAL appends to the newest segment. It is not safe for concurrent use: its
// owner (the raft actor's log writer) is one goroutine.
type WAL struct {
	dir     string
	segSize int64
	segs    []segment
	f       *os.File
	off     int64 // where the next batch goes in f
	buf     []byte
	// hs and the snapshot mark are those of the last synced batch (a new
	// segment opens with them); pending ones ride in buf until Sync.
	hs          *raftpb.HardState
	snapIdx     uint64
	snapTrm     uint64
	pendingHS   *raftpb.HardState
	pendingSnap [2]uint64
	last        uint64 // index of the last entry appended
	syncedLast  uint64 // and of the last one synced

	// The owner's meters (see SetMeters); nil: not measured.
	fsyncs  Observer
	written Adder
}

// Observer takes one measurement (a prometheus.Histogram is one).
type Observer interface{ Observe(float64) }

// Adder takes an amount to add (a prometheus.Counter or Gauge is one).
type Adder interface{ Add(float64) }

// SetMeters has every later Sync report the seconds its fdatasync took to
// fsyncs and the bytes it wrote to written; either may be nil.
func (w *WAL) SetMeters(fsyncs Observer, written Adder) {
	w.fsyncs, w.written = fsyncs, written
}

func segName(seq, first uint64) string { return fmt.Sprintf("%016x-%016x.wal", seq, first) }

func parseSegName(name string) (seq, first uint64, ok bool) {
	s, f, found := strings.Cut(strings.TrimSuffix(name, ".wal"), "-")
	if !found || !strings.HasSuffix(name, ".wal") || len(s) != 16 || len(f) != 16 {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(s, 16, 64)
	first, err2 := strconv.ParseUint(f, 16, 64)
	return seq, first, err1 == nil && err2 == nil
}

// Exists reports whether dir holds a log.
func Exists(dir string) bool {
	segs, err := listSegments(dir)
	return err == nil && len(segs) > 0
}

func listSegments(dir string) ([]segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, de := range des {
		if seq, first, ok := parseSegName(de.Name()); ok {
			segs = append(segs, segment{seq: seq, first: first, path: filepath.Join(dir, de.Name())})
		}
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmp.Compare(a.seq, b.seq) })
	for i := 1; i < len(segs); i++ {
		if segs[i].seq != segs[i-1].seq+1 {
			return nil, fmt.Errorf("%w: segment %d follows %d in %s", ErrCorrupt, segs[i].seq, segs[i-1].seq, dir)
		}
	}
	return segs, nil
}

// Open replays the log in dir (made if missing), cuts a torn tail, and
// returns the log ready to append after the last record, with what it holds.
// Entries at or before skipTo (what the caller's snapshot covers) are
// checked but not returned.
func Open(dir string, segSize int64, skipTo uint64) (*WAL, *State, error) {
	if segSize <= 0 {
		segSize = DefaultSegmentSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, nil, err
	}
	w := &WAL{dir: dir, segSize: segSize, segs: segs}
	st := &State{}
	if len(segs) == 0 {
		if err := w.startSegment(0, 1); err != nil {
			return nil, nil, err
		}
		return w, st, nil
	}
	var end, dataEnd int64
	for i, s := range segs {
		var want uint64
		off, res, read, err := replaySegment(s.path, skipTo, func(r *record) error {
			if r.typ == recSegment {
				want = r.segSize
			}
			return st.add(r)
		})
		dataEnd = read
		if err == nil {
			err = checkSize(s.path, want)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s at offset %d: %w", s.path, off, err)
		}
		last := i == len(segs)-1
		switch {
		case res == readBad || (res == readTorn && !last):
			return nil, nil, fmt.Errorf("%w: %s: the record at offset %d fails its checksum", ErrCorrupt, s.path, off)
		case res == readTorn:
			st.Torn = true
		}
		end = off
	}
	w.hs = st.HardState
	w.snapIdx, w.snapTrm = st.SnapIndex, st.SnapTerm
	if n := len(st.Entries); n > 0 {
		w.last = st.Entries[n-1].GetIndex()
	} else {
		w.last = st.SnapIndex
	}
	w.syncedLast = w.last
	if err := w.reopenLast(end, dataEnd); err != nil {
		return nil, nil, err
	}
	return w, st, nil
}

// checkSize refuses a segment shorter than it was made.
func checkSize(path string, want uint64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if uint64(fi.Size()) < want {
		return fmt.Errorf("%w: %s is %d bytes, shorter than the %d it was made with: it was cut, and what it lost may have been acknowledged", ErrCorrupt, path, fi.Size(), want)
	}
	return nil
}

func (st *State) add(r *record) error {
	switch r.typ {
	case recEntry:
		if r.entry == nil {
			return nil // skipped: a snapshot covers it
		}
		idx := r.entry.GetIndex()
		if idx <= st.SnapIndex {
			return nil // the snapshot covers it
		}
		// An index seen before replaces it and all after it.
		for len(st.Entries) > 0 && st.Entries[len(st.Entries)-1].GetIndex() >= idx {
			st.Entries = st.Entries[:len(st.Entries)-1]
		}
		// The first entry replayed may start anywhere after the mark: the
		// segments before it may be gone; whoever loads the log checks it
		// against the snapshot it has.
		if n := len(st.Entries); n > 0 && st.Entries[n-1].GetIndex()+1 != idx {
			return fmt.Errorf("%w: entry %d follows %d", ErrCorrupt, idx, st.Entries[n-1].GetIndex())
		}
		st.Entries = append(st.Entries, r.entry)
	case recHardState:
		st.HardState = r.hs
	case recSnapshot:
		if r.replace {
			st.Entries = nil
		}
		if r.snapIdx >= st.SnapIndex {
			st.SnapIndex, st.SnapTerm = r.snapIdx, r.snapTrm
			i := 0
			for i < len(st.Entries) && st.Entries[i].GetIndex() <= r.snapIdx {
				i++
			}
			st.Entries = st.Entries[i:]
		}
	}
	return nil
}

// readChunk is how much of a segment is read at a time. A segment is
// replayed as it is read, so replay holds about two chunks, not the segment;
// reading stops once a whole chunk of zeros follows the last complete record
// (the preallocated room after the last write), so a mostly empty 64 MiB
// segment costs what it holds. Zeros inside a record (a value of NULs) never
// stop it.
const readChunk = 1 << 20

// replaySegment feeds fn the records of the segment at path. It returns
// where the records end, how reading stopped (as readRecords), and the end
// of what it read (what may need zeroing after a torn tail).
func replaySegment(path string, skipTo uint64, fn func(*record) error) (end int64, res readResult, read int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, readBad, 0, err
	}
	defer f.Close()
	var base int64 // file offset of buf[0]
	buf := make([]byte, 0, 2*readChunk)
	chunk := make([]byte, readChunk)
	for {
		n, rerr := io.ReadFull(f, chunk)
		buf = append(buf, chunk[:n]...)
		read = base + int64(len(buf))
		eof := errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF)
		if rerr != nil && !eof {
			return 0, readBad, read, rerr
		}
		// The complete records so far are replayed and let go of.
		whole := 0
		for whole+headerLen <= len(buf) {
			l := int(binary.LittleEndian.Uint32(buf[whole:]))
			if l == 0 || whole+headerLen+l > len(buf) {
				break
			}
			whole += headerLen + l
		}
		if whole > 0 {
			off, r, err := readRecords(buf[:whole], base, skipTo, fn)
			if err != nil || r != readEnd {
				return base + int64(off), r, read, err
			}
			base += int64(whole)
			buf = append(buf[:0], buf[whole:]...)
		}
		if eof || (len(buf) >= readChunk && allZero(buf)) {
			off, r, err := readRecords(buf, base, skipTo, fn)
			return base + int64(off), r, read, err
		}
	}
}

// reopenLast opens the last segment for appending at end, zeroing whatever
// a torn write left between it and dataEnd so that no stale bytes follow new
// records.
func (w *WAL) reopenLast(end, dataEnd int64) error {
	s := w.segs[len(w.segs)-1]
	f, err := os.OpenFile(s.path, os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if dataEnd > end {
		if err := zeroRange(f, end, dataEnd); err != nil {
			f.Close()
			return err
		}
	}
	if err := preallocate(f, w.segSize); err != nil {
		f.Close()
		return err
	}
	if err := datasync(f); err != nil {
		f.Close()
		return err
	}
	w.f, w.off = f, end
	return nil
}

// zeroRange writes zeros over [from, to) where they are not zero already.
func zeroRange(f *os.File, from, to int64) error {
	const chunk = 1 << 16
	buf := make([]byte, chunk)
	zero := make([]byte, chunk)
	for off := from; off < to; off += chunk {
		n, err := f.ReadAt(buf[:min(chunk, to-off)], off)
		if err != nil && n == 0 {
			return err
		}
		if !allZero(buf[:n]) {
			if _, err := f.WriteAt(zero[:n], off); err != nil {
				return err
			}
		}
	}
	return nil
}

// startSegment creates segment seq (its first entry will be first),
// preallocated, and makes it the one appended to. The directory is synced so
// the file survives a crash.
func (w *WAL) startSegment(seq, first uint64) error {
	path := filepath.Join(w.dir, segName(seq, first))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	err = preallocate(f, w.segSize)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = SyncDir(w.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if w.f != nil {
		w.f.Close()
	}
	w.segs = append(w.segs, segment{seq: seq, first: first, path: path})
	w.f, w.off = f, 0
	// Each segment opens with its size and the state it continues from.
	w.buf = appendSegment(w.buf, w.segSize)
	if w.hs != nil {
		w.buf = appendHardState(w.buf, w.hs)
	}
	if w.snapIdx != 0 {
		w.buf = appendSnapshot(w.buf, w.snapIdx, w.snapTrm, false)
	}
	return nil
}

// SyncDir makes dir's entries durable: a file created, renamed or removed in
// it survives a crash only after its directory is synced.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Append adds a hard state (nil: unchanged) and entries to the batch that
// the next Sync writes.
func (w *WAL) Append(hs *raftpb.HardState, ents []*raftpb.Entry) {
	for _, e := range ents {
		w.buf = appendEntry(w.buf, e)
		w.last = e.GetIndex()
	}
	if hs != nil {
		w.pendingHS = hs
		w.buf = appendHardState(w.buf, hs)
	}
}

// MarkSnapshot adds a snapshot mark to the batch: entries at or before index
// are void from then on (the snapshot itself is stored elsewhere, first).
func (w *WAL) MarkSnapshot(index, term uint64, replace bool) {
	w.pendingSnap = [2]uint64{index, term}
	w.buf = appendSnapshot(w.buf, index, term, replace)
	if w.last < index || replace {
		w.last = index
	}
}

// Sync writes the batch with one write and makes it durable with one
// fdatasync. A batch that does not fit in the segment's room starts the next
// segment. After an error the log must be reopened: what reached the disk is
// unknown.
func (w *WAL) Sync() error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.off > 0 && w.off+int64(len(w.buf)) > w.segSize {
		batch := w.buf
		w.buf = nil
		cur := w.segs[len(w.segs)-1]
		if err := w.startSegment(cur.seq+1, firstIndexOf(batch, w.last)); err != nil {
			w.buf = batch
			return err
		}
		w.buf = append(w.buf, batch...)
	}
	if _, err := w.f.WriteAt(w.buf, w.off); err != nil {
		return err
	}
	start := time.Now()
	if err := datasync(w.f); err != nil {
		return err
	}
	if w.fsyncs != nil {
		w.fsyncs.Observe(time.Since(start).Seconds())
	}
	if w.written != nil {
		w.written.Add(float64(len(w.buf)))
	}
	w.off += int64(len(w.buf))
	w.buf = w.buf[:0]
	if w.pendingHS != nil {
		w.hs, w.pendingHS = w.pendingHS, nil
	}
	if w.pendingSnap[0] != 0 {
		w.snapIdx, w.snapTrm = w.pendingSnap[0], w.pendingSnap[1]
		w.pendingSnap = [2]uint64{}
	}
	w.syncedLast = w.last
	return nil
}

// Reset makes the log what its last successful Sync left, after a Sync that
// failed: whatever the failed write may have put after it is overwritten with
// zeros and synced (a failed fdatasync is never retried and trusted, and the
// kernel's cache may show bytes the disk does not have). The log is closed
// after; Open it again to append.
func (w *WAL) Reset() error {
	w.buf, w.pendingHS, w.pendingSnap, w.last = nil, nil, [2]uint64{}, w.syncedLast
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	f, err := os.OpenFile(w.segs[len(w.segs)-1].path, os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := zeroRange(f, w.off, fi.Size()); err != nil {
		return err
	}
	return datasync(f)
}

// firstIndexOf is the first entry index in a batch, or last+1 if it has none.
func firstIndexOf(batch []byte, last uint64) uint64 {
	first := last + 1
	readRecords(batch, 0, 0, func(r *record) error {
		if r.typ == recEntry && r.entry.GetIndex() < first {
			first = r.entry.GetIndex()
		}
		return nil
	})
	return first
}

// ReleaseTo deletes the segments that hold nothing after index: every entry
// in them is at or before it (a snapshot covers them). The segment appended
// to is never deleted.
func (w *WAL) ReleaseTo(index uint64) error {
	n := 0
	for n+1 < len(w.segs) && w.segs[n+1].first <= index+1 {
		n++
	}
	for _, s := range w.segs[:n] {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	w.segs = append(w.segs[:0], w.segs[n:]...)
	if n > 0 {
		return SyncDir(w.dir)
	}
	return nil
}

// Segments is how many segment files the log has.
func (w *WAL) Segments() int { return len(w.segs) }

// Close closes the segment appended to; a batch not synced is dropped.
func (w *WAL) Close() error {
	w.buf = nil
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
