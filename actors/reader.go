package actors

import "encoding/binary"

// Reader takes apart the compact encodings written with encoding/binary's
// varints and length-prefixed strings (raft entries here, tree snapshots in
// treeactor). A malformed or short input makes every later read return zero
// and Bad report true, so a decoder checks once at the end.
type Reader struct {
	b   []byte
	bad bool
}

// NewReader reads b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Bad reports whether any read ran past the input or found a bad varint.
func (r *Reader) Bad() bool { return r.bad }

// Rest is how many bytes are left unread.
func (r *Reader) Rest() int { return len(r.b) }

func (r *Reader) fail() {
	r.bad = true
	r.b = nil
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// String reads a length-prefixed string, copied out of the input.
func (r *Reader) String() string {
	l := r.Uvarint()
	if r.bad || l > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}
