package raftactor

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Every value in the log file ends with a CRC-32C of its key and its
// payload. bbolt checksums only its meta pages, so without this one flipped
// byte inside an entry would be applied as a different write without a word;
// with the key in the sum, a value that turns up under another key (a
// damaged page pointer) fails too. The snapshot image, which can be large and
// is written whole, has its sum under a key of its own.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const sumLen = 4

func sum(key, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, payload)
}

// seal appends the checksum of key and b[from:] to b.
func seal(b []byte, key []byte, from int) []byte {
	return binary.LittleEndian.AppendUint32(b, sum(key, b[from:]))
}

// unseal checks v's checksum and returns its payload.
func unseal(key, v []byte, what string) ([]byte, error) {
	if len(v) < sumLen {
		return nil, fmt.Errorf("%w: %s of %d bytes", errCorruptLog, what, len(v))
	}
	p := v[:len(v)-sumLen]
	if binary.LittleEndian.Uint32(v[len(p):]) != sum(key, p) {
		return nil, fmt.Errorf("%w: %s fails its checksum", errCorruptLog, what)
	}
	return p, nil
}

// An entry's value is its type byte, its term as a uvarint, its data, then
// the seal; the index is the key.
func appendEntryValue(b, key []byte, e *raftpb.Entry) []byte {
	from := len(b)
	b = append(b, byte(e.GetType()))
	b = binary.AppendUvarint(b, e.GetTerm())
	b = append(b, e.GetData()...)
	return seal(b, key, from)
}

func entryValueLen(e *raftpb.Entry) int {
	return 1 + uvarintLen(e.GetTerm()) + len(e.GetData()) + sumLen
}

func decodeEntry(idx uint64, key, v []byte) (*raftpb.Entry, error) {
	v, err := unseal(key, v, fmt.Sprintf("entry %d", idx))
	if err != nil {
		return nil, err
	}
	return decodeEntryPayload(idx, v)
}

func decodeEntryPayload(idx uint64, v []byte) (*raftpb.Entry, error) {
	if len(v) < 2 {
		return nil, fmt.Errorf("%w: entry %d of %d bytes", errCorruptLog, idx, len(v))
	}
	typ := raftpb.EntryType(v[0])
	term, n := binary.Uvarint(v[1:])
	if n <= 0 {
		return nil, fmt.Errorf("%w: entry %d term", errCorruptLog, idx)
	}
	e := &raftpb.Entry{Index: &idx, Term: &term, Type: &typ}
	if data := v[1+n:]; len(data) > 0 {
		e.Data = append([]byte(nil), data...)
	}
	return e, nil
}

func encodeHardState(hs *raftpb.HardState) []byte {
	b := make([]byte, 0, 3*binary.MaxVarintLen64+sumLen)
	b = binary.AppendUvarint(b, hs.GetTerm())
	b = binary.AppendUvarint(b, hs.GetVote())
	b = binary.AppendUvarint(b, hs.GetCommit())
	return seal(b, keyHardState, 0)
}

func decodeHardState(v []byte) (*raftpb.HardState, error) {
	v, err := unseal(keyHardState, v, "hard state")
	if err != nil {
		return nil, err
	}
	var f [3]uint64
	for i := range f {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return nil, fmt.Errorf("%w: hard state", errCorruptLog)
		}
		f[i] = x
		v = v[n:]
	}
	return &raftpb.HardState{Term: &f[0], Vote: &f[1], Commit: &f[2]}, nil
}

// sealedProto is m marshalled and sealed under key.
func sealedProto(key []byte, m proto.Message) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return seal(b, key, 0), nil
}

func unsealProto(key, v []byte, what string, m proto.Message) error {
	p, err := unseal(key, v, what)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(p, m); err != nil {
		return fmt.Errorf("%w: %s: %v", errCorruptLog, what, err)
	}
	return nil
}

// snapSum is the sealed checksum of a snapshot image.
func snapSum(data []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, sum(keySnapData, data))
	return seal(b, keySnapSum, 0)
}

func checkSnapSum(sealed, data []byte) error {
	p, err := unseal(keySnapSum, sealed, "snapshot checksum")
	if err != nil {
		return err
	}
	if len(p) != 4 || binary.LittleEndian.Uint32(p) != sum(keySnapData, data) {
		return fmt.Errorf("%w: snapshot image fails its checksum", errCorruptLog)
	}
	return nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
