package treeactor

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/etcdv2/server/actors"
)

// The snapshot format, version 3:
//
//	"v2tree" version(1 byte)
//	uvarint etcd index, uvarint × 15 counters (StoreStats order, no watchers)
//	uvarint number of nodes below the root
//	each node in the tree's key order (a directory before its subtree,
//	siblings by name):
//	    uvarint depth (1 below the root), name (uvarint length + bytes),
//	    flags (bit 0: directory), uvarint created, uvarint modified,
//	    varint expiration, then a file's value
//	uvarint number of recent events, each as actors.Event.AppendBinary
//	    writes it, oldest first, the newest at the etcd index
//	crc32c of everything before it, 4 bytes little-endian
//
// Versions 1 and 2 (still read) store each directory's children after a
// count, in the order the old tree kept them; version 1 has no events.
//
// Names are relative to the parent, so paths are stored once per component;
// the order is the tree's, so the same tree always gives the same bytes and
// a restore builds the tree's pages bottom up without a search.
const (
	snapMagic   = "v2tree"
	snapVersion = 3
	flagIsDir   = 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptSnapshot is returned by Restore for data it cannot trust.
var ErrCorruptSnapshot = errors.New("treeactor: corrupt snapshot")

func counters(st *actors.StoreStats) []*uint64 {
	return []*uint64{
		&st.GetSuccess, &st.GetFail, &st.SetSuccess, &st.SetFail,
		&st.DeleteSuccess, &st.DeleteFail, &st.UpdateSuccess, &st.UpdateFail,
		&st.CreateSuccess, &st.CreateFail,
		&st.CompareAndSwapSuccess, &st.CompareAndSwapFail,
		&st.CompareAndDeleteSuccess, &st.CompareAndDeleteFail,
		&st.ExpireCount,
	}
}

// Frozen is the store's whole state at one index, taken in O(1) by the actor
// and serialized by whoever holds it, on any goroutine.
type Frozen struct {
	view   *View
	index  uint64
	stats  actors.StoreStats
	count  int
	size   int // what the bytes will take, about
	events []*actors.Event
}

// Freeze takes the store's state as it is now.
func (s *Store) Freeze() *Frozen {
	evs := s.recent.all()
	// Per node: its name (within its payload), up to 40 bytes of lengths,
	// flags and numbers; per event, a guess.
	size := 64 + s.payload + 40*s.tree.size + 256*len(evs)
	return &Frozen{view: s.View(), index: s.index, stats: s.stats, count: s.tree.size, size: size, events: evs}
}

// Snapshot serializes the whole store.
func (s *Store) Snapshot() []byte { return s.Freeze().Bytes() }

// Bytes serializes the frozen state.
func (f *Frozen) Bytes() []byte { return f.AppendTo(nil) }

// AppendTo serializes the frozen state after prefix (which the image's
// owner puts in front of it), in one buffer sized for both.
func (f *Frozen) AppendTo(prefix []byte) []byte {
	e := snapEncoder{b: append(make([]byte, 0, len(prefix)+f.size), prefix...), start: len(prefix)}
	f.encode(&e)
	return e.b
}

// streamChunk is how much of an image WriteTo holds before writing it out.
var streamChunk = 64 << 10

// WriteTo writes the same bytes as Bytes to w, a chunk at a time, so a
// backup of a big tree holds no more than the frozen view and one chunk.
// It stops at the first error of w.
func (f *Frozen) WriteTo(w io.Writer) (int64, error) {
	e := snapEncoder{b: make([]byte, 0, streamChunk+4<<10), w: w}
	f.encode(&e)
	e.flush()
	return e.n, e.err
}

// snapEncoder is the image being serialized: into b alone (w nil), or
// through b to w, which gets b each time it fills. The checksum covers
// everything from start on, across the chunks.
type snapEncoder struct {
	b     []byte
	start int
	crc   uint32
	w     io.Writer
	n     int64
	err   error
}

func (e *snapEncoder) flush() {
	if e.w == nil || len(e.b) == 0 {
		return
	}
	if e.err == nil {
		var n int
		n, e.err = e.w.Write(e.b)
		e.n += int64(n)
	}
	e.b = e.b[:0]
}

// sum folds b[start:] into the checksum before a flush lets it go.
func (e *snapEncoder) sum() {
	e.crc = crc32.Update(e.crc, crcTable, e.b[e.start:])
	e.start = 0
}

func (f *Frozen) encode(e *snapEncoder) {
	e.b = append(e.b, snapMagic...)
	e.b = append(e.b, snapVersion)
	e.b = binary.AppendUvarint(e.b, f.index)
	for _, c := range counters(&f.stats) {
		e.b = binary.AppendUvarint(e.b, *c)
	}
	e.b = binary.AppendUvarint(e.b, uint64(f.count))
	c := cursor{root: f.view.pages}
	for c.seek(func(string) bool { return false }); c.valid() && e.err == nil; c.next() {
		e.b = appendSnapNode(e.b, c.node())
		e.chunk()
		// Serializing a big tree takes a core for tens of milliseconds;
		// requests share it (see yieldEvery).
		if c.rendered++; c.rendered%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	e.b = binary.AppendUvarint(e.b, uint64(len(f.events)))
	for _, ev := range f.events {
		e.b = ev.AppendBinary(e.b)
		e.chunk()
	}
	e.sum()
	e.b = binary.LittleEndian.AppendUint32(e.b, e.crc)
}

// chunk hands a full buffer to the writer, its bytes summed first.
func (e *snapEncoder) chunk() {
	if e.w != nil && len(e.b) >= streamChunk {
		e.sum()
		e.flush()
	}
}

func appendSnapNode(b []byte, n *node) []byte {
	_, name := splitPath(n.key)
	b = binary.AppendUvarint(b, uint64(strings.Count(n.key, "/")))
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	var flags byte
	if n.isDir() {
		flags |= flagIsDir
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, n.created)
	b = binary.AppendUvarint(b, n.modified)
	b = binary.AppendVarint(b, n.expire)
	if !n.isDir() {
		b = binary.AppendUvarint(b, uint64(len(n.value)))
		b = append(b, n.value...)
	}
	return b
}

// RestoreStore rebuilds a store from Snapshot's bytes; nil data is a fresh
// empty store. Any inconsistency is ErrCorruptSnapshot.
func RestoreStore(data []byte) (*Store, error) {
	if data == nil {
		return NewStore(), nil
	}
	if len(data) < len(snapMagic)+1+4 || string(data[:len(snapMagic)]) != snapMagic {
		return nil, ErrCorruptSnapshot
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, ErrCorruptSnapshot
	}
	version := body[len(snapMagic)]
	if version < 1 || version > snapVersion {
		return nil, ErrCorruptSnapshot
	}
	r := actors.NewReader(body[len(snapMagic)+1:])
	s := NewStore()
	s.index = r.Uvarint()
	for _, c := range counters(&s.stats) {
		*c = r.Uvarint()
	}
	total := r.Uvarint()
	if r.Bad() || total > uint64(r.Rest()) { // every node takes several bytes
		return nil, ErrCorruptSnapshot
	}
	nodes := make([]*node, 0, total)
	var ok bool
	if version >= 3 {
		nodes, ok = readOrdered(&r, nodes, total)
	} else {
		nodes, ok = readNested(&r, nodes, total)
	}
	if !ok || r.Bad() || uint64(len(nodes)) != total {
		return nil, ErrCorruptSnapshot
	}
	if version >= 2 && !s.readRecent(&r) {
		return nil, ErrCorruptSnapshot
	}
	if r.Rest() != 0 {
		return nil, ErrCorruptSnapshot
	}
	s.tree.root, s.tree.size = build(nodes, s.tree.gen), len(nodes)
	for _, n := range nodes {
		s.payload += len(n.key) + len(n.value)
		if n.expire != 0 {
			n.due = &deadline{key: n.key, at: n.expire}
			s.ttl = append(s.ttl, n.due)
		}
	}
	s.ttl.init()
	return s, nil
}

// readNode reads the fields after a node's name; a file's value too.
func readNode(r *actors.Reader, p string) *node {
	flags := r.Byte()
	created, modified, expire := r.Uvarint(), r.Uvarint(), r.Varint()
	if r.Bad() || flags&^flagIsDir != 0 || expire < 0 {
		return nil
	}
	n := newNode(p, created)
	n.modified, n.expire = modified, expire
	if flags&flagIsDir != 0 {
		n.dir = true
	} else {
		n.setValue(r.String())
	}
	return n
}

// readOrdered reads version 3's nodes, which must come in the tree's order:
// each below a directory read before it, siblings by strictly rising name.
func readOrdered(r *actors.Reader, nodes []*node, total uint64) ([]*node, bool) {
	type level struct{ dir, last string }
	stack := []level{{dir: "/"}}
	for range total {
		depth := r.Uvarint()
		name := r.String()
		if r.Bad() || depth == 0 || depth > uint64(len(stack)) || !validName(name) {
			return nil, false
		}
		stack = stack[:depth]
		up := &stack[depth-1]
		if up.last != "" && name <= up.last {
			return nil, false
		}
		up.last = name
		n := readNode(r, childPath(up.dir, name))
		if n == nil {
			return nil, false
		}
		nodes = append(nodes, n)
		if n.dir {
			stack = append(stack, level{dir: n.key})
		}
	}
	return nodes, true
}

// readNested reads versions 1 and 2: each directory's child count, then its
// children, in no particular order; they are sorted into the tree's order.
func readNested(r *actors.Reader, nodes []*node, total uint64) ([]*node, bool) {
	// An explicit stack instead of recursion: depth is bounded by the data.
	type frame struct {
		dir  string
		left uint64
	}
	stack := []frame{{dir: "/", left: r.Uvarint()}}
	for len(stack) > 0 && !r.Bad() {
		top := &stack[len(stack)-1]
		if top.left == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		top.left--
		name := r.String()
		if r.Bad() || !validName(name) || uint64(len(nodes)) >= total {
			return nil, false
		}
		n := readNode(r, childPath(top.dir, name))
		if n == nil {
			return nil, false
		}
		nodes = append(nodes, n)
		if n.dir {
			count := r.Uvarint()
			if count > uint64(r.Rest()) {
				return nil, false
			}
			stack = append(stack, frame{dir: n.key, left: count})
		}
	}
	if r.Bad() || len(stack) != 0 {
		return nil, false
	}
	slices.SortFunc(nodes, func(a, b *node) int { return keyCmp(a.key, b.key) })
	for i := 1; i < len(nodes); i++ {
		if nodes[i].key == nodes[i-1].key {
			return nil, false
		}
	}
	return nodes, true
}

// readRecent reads the snapshot's recent events: consecutive indexes, the
// newest at the store's index. They are kept until KeepEvents says how many.
func (s *Store) readRecent(r *actors.Reader) bool {
	n := r.Uvarint()
	if r.Bad() || n > uint64(r.Rest()) || n > s.index {
		return false
	}
	s.recent.keep(int(n))
	for i := range n {
		e := r.ReadEvent()
		if e == nil || e.Index != s.index-n+1+i {
			return false
		}
		s.recent.add(e)
	}
	return true
}

func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.Contains(name, "/")
}
