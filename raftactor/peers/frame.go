package peers

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// A frame is a 4-byte big-endian length followed by that many bytes of a
// marshaled raftpb.Message. A stream's body is a sequence of frames; a
// snapshot's body is one frame (the message without its data), an 8-byte
// big-endian data length, then the data.

const frameHeader = 4

var errFrameTooLarge = errors.New("frame larger than the limit")

// appendFrame appends m as a frame to buf. The length is patched in after
// marshaling so the message is walked once and no second buffer is needed.
func appendFrame(buf []byte, m *raftpb.Message, limit int) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, m)
	if err != nil {
		return buf[:start], err
	}
	n := len(buf) - start - frameHeader
	if n > limit || n > math.MaxUint32 {
		return buf[:start], fmt.Errorf("%w: %d bytes", errFrameTooLarge, n)
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(n))
	return buf, nil
}

// readFrame reads one frame's payload into buf (grown if needed) and returns
// it; the caller unmarshals it, which copies, so buf can be reused. A length
// beyond limit is refused before anything is allocated for it.
func readFrame(r *bufio.Reader, buf []byte, limit int) ([]byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return buf, err
	}
	n := int(binary.BigEndian.Uint32(h[:]))
	if n > limit {
		return buf, fmt.Errorf("%w: %d bytes, limit %d", errFrameTooLarge, n, limit)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf, err
	}
	return buf, nil
}

// withoutData is m with its snapshot's data left out: the header of a
// snapshot transfer. It shares m's fields (they are only marshaled, never
// modified); copying the struct itself would copy protobuf's internal state.
func withoutData(m *raftpb.Message) *raftpb.Message {
	h := &raftpb.Message{
		Type: m.Type, To: m.To, From: m.From, Term: m.Term, LogTerm: m.LogTerm,
		Index: m.Index, Entries: m.Entries, Commit: m.Commit, Vote: m.Vote,
		Reject: m.Reject, RejectHint: m.RejectHint, Context: m.Context,
		Responses: m.Responses,
	}
	if s := m.GetSnapshot(); s != nil {
		h.Snapshot = &raftpb.Snapshot{Metadata: s.GetMetadata()}
	}
	return h
}
