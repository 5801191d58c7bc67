package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"go.etcd.io/raft/v3/raftpb"
)

const (
	recEntry     = 1
	recHardState = 2
	recSnapshot  = 3
	// recSegment opens every segment with the size it was preallocated to:
	// a segment never shrinks (a torn write leaves zeros, not a shorter
	// file), so one shorter than that was cut by something else, and what
	// it lost may have been acknowledged.
	recSegment = 4
	headerLen  = 8
	sectorSize = 512
	// trailer ends every record. It is never zero, so a record whose last
	// byte is zero was cut short by a crash (the segment was all zeros before
	// the write), while a flipped bit in a whole record leaves it non-zero.
	trailer = 0xA5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is a log whose damage is not a torn tail.
var ErrCorrupt = errors.New("wal: corrupt")

// appendRecord frames typ and the payload that appendPayload adds.
func appendRecord(b []byte, typ byte, appendPayload func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, headerLen)...)
	b = append(b, typ)
	b = appendPayload(b)
	b = append(b, trailer)
	body := b[start+headerLen:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, castagnoli))
	return b
}

func appendEntry(b []byte, e *raftpb.Entry) []byte {
	return appendRecord(b, recEntry, func(b []byte) []byte {
		b = binary.AppendUvarint(b, e.GetIndex())
		b = binary.AppendUvarint(b, e.GetTerm())
		b = append(b, byte(e.GetType()))
		return append(b, e.GetData()...)
	})
}

func appendHardState(b []byte, hs *raftpb.HardState) []byte {
	return appendRecord(b, recHardState, func(b []byte) []byte {
		b = binary.AppendUvarint(b, hs.GetTerm())
		b = binary.AppendUvarint(b, hs.GetVote())
		return binary.AppendUvarint(b, hs.GetCommit())
	})
}

func appendSegment(b []byte, size int64) []byte {
	return appendRecord(b, recSegment, func(b []byte) []byte { return binary.AppendUvarint(b, uint64(size)) })
}

// appendSnapshot marks a snapshot at index: entries at or before it are void,
// and with replace (a snapshot from the leader replaces the whole log) those
// after it too.
func appendSnapshot(b []byte, index, term uint64, replace bool) []byte {
	return appendRecord(b, recSnapshot, func(b []byte) []byte {
		r := uint64(0)
		if replace {
			r = 1
		}
		return binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint(b, index), term), r)
	})
}

// record is one decoded record.
type record struct {
	typ     byte
	entry   *raftpb.Entry
	hs      *raftpb.HardState
	snapIdx uint64
	snapTrm uint64
	replace bool
	segSize uint64
}

// readResult says why reading a segment stopped.
type readResult int

const (
	readEnd  readResult = iota // the zeros after the last record
	readTorn                   // an interrupted write at off
	readBad                    // damage at off
)

// readRecords decodes b's records until its end, the zeros after the last
// record, a torn record or a damaged one; off is where it stopped. Entries
// at or before skipTo are checked but not kept (r.entry nil): a snapshot
// covers them, and a segment may hold hundreds of thousands.
// b starts at file offset at (sectors are aligned to the file).
func readRecords(b []byte, at int64, skipTo uint64, fn func(*record) error) (off int, res readResult, err error) {
	r := new(record) // one for all: fn keeps what it needs, not the record
	for off < len(b) {
		if len(b)-off < headerLen {
			if allZero(b[off:]) {
				return off, readEnd, nil
			}
			return off, readTorn, nil
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		sum := binary.LittleEndian.Uint32(b[off+4:])
		if n == 0 && sum == 0 {
			if allZero(b[off:]) {
				return off, readEnd, nil
			}
			return off, classify(b, at, off, off+headerLen), nil
		}
		end := off + headerLen + n
		if n < 2 || end > len(b) || end < off {
			return off, classify(b, at, off, len(b)), nil
		}
		body := b[off+headerLen : end]
		if crc32.Checksum(body, castagnoli) != sum {
			return off, classify(b, at, off, end), nil
		}
		*r = record{}
		derr := decode(r, body, skipTo)
		if derr != nil {
			return off, readBad, derr
		}
		if err := fn(r); err != nil {
			return off, readBad, err
		}
		off = end
	}
	return off, readEnd, nil
}

// classify tells a torn record from a damaged one: a write the crash
// interrupted leaves what it never reached as the zeros the segment was
// filled with (the trailer, or a whole sector), and a record whose claimed
// end lies past the file was cut short.
func classify(b []byte, at int64, off, end int) readResult {
	if end >= len(b) && off+headerLen+int(binary.LittleEndian.Uint32(b[off:])) > len(b) {
		return readTorn
	}
	if end > off+headerLen && b[end-1] == 0 {
		return readTorn
	}
	shift := int(at % sectorSize)
	for s := (off+shift)/sectorSize*sectorSize - shift; s < end; s += sectorSize {
		if allZero(b[max(s, off):min(s+sectorSize, len(b))]) {
			return readTorn
		}
	}
	return readBad
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// fieldCount is how many uvarints start a record of the type (0: no such
// type). A switch, not a map: replay runs it once per record.
func fieldCount(typ byte) int {
	switch typ {
	case recEntry:
		return 2
	case recHardState, recSnapshot:
		return 3
	case recSegment:
		return 1
	}
	return 0
}

func decode(r *record, body []byte, skipTo uint64) error {
	if len(body) < 2 || body[len(body)-1] != trailer {
		return fmt.Errorf("%w: record without its trailer", ErrCorrupt)
	}
	body = body[:len(body)-1]
	r.typ = body[0]
	p := body[1:]
	var f [3]uint64
	need := fieldCount(r.typ)
	if need == 0 {
		return fmt.Errorf("%w: record type %d", ErrCorrupt, r.typ)
	}
	for i := 0; i < need; i++ {
		x, n := binary.Uvarint(p)
		if n <= 0 {
			return fmt.Errorf("%w: record type %d: bad field %d", ErrCorrupt, r.typ, i)
		}
		f[i], p = x, p[n:]
	}
	switch r.typ {
	case recEntry:
		if len(p) < 1 {
			return fmt.Errorf("%w: entry %d without a type", ErrCorrupt, f[0])
		}
		if f[0] <= skipTo {
			return nil
		}
		// Declared past the skip: they escape into the entry, and would be
		// allocated for every record skipped too.
		idx, term, typ := f[0], f[1], raftpb.EntryType(p[0])
		r.entry = &raftpb.Entry{Index: &idx, Term: &term, Type: &typ}
		if len(p) > 1 {
			r.entry.Data = append([]byte(nil), p[1:]...)
		}
	case recHardState:
		// Copies, so that f (decoded for every record) stays off the heap.
		t, v, c := f[0], f[1], f[2]
		r.hs = &raftpb.HardState{Term: &t, Vote: &v, Commit: &c}
	case recSnapshot:
		r.snapIdx, r.snapTrm, r.replace = f[0], f[1], f[2] == 1
	case recSegment:
		r.segSize = f[0]
	}
	return nil
}
