package treeactor

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"

	"github.com/etcdv2/server/actors"
)

// The snapshot format, version 2:
//
//	"v2tree" version(1 byte)
//	uvarint etcd index, uvarint × 15 counters (StoreStats order, no watchers)
//	uvarint number of nodes below the root
//	the root's children, each in pre-order:
//	    name (uvarint length + bytes), flags (bit 0: directory),
//	    uvarint created, uvarint modified, varint expiration,
//	    then a directory's uvarint child count and children, or a file's value
//	uvarint number of recent events, each as actors.Event.AppendBinary
//	    writes it, oldest first, the newest at the etcd index
//	crc32c of everything before it, 4 bytes little-endian
//
// Version 1 is the same without the events.
//
// Names are relative to the parent, so paths are stored once per component;
// children keep the tree's order, so a restored tree snapshots to the same
// bytes.
const (
	snapMagic   = "v2tree"
	snapVersion = 2
	flagIsDir   = 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptSnapshot is returned by Restore for data it cannot trust.
var ErrCorruptSnapshot = errors.New("treeactor: corrupt snapshot")

func (s *Store) counters() []*uint64 {
	st := &s.stats
	return []*uint64{
		&st.GetSuccess, &st.GetFail, &st.SetSuccess, &st.SetFail,
		&st.DeleteSuccess, &st.DeleteFail, &st.UpdateSuccess, &st.UpdateFail,
		&st.CreateSuccess, &st.CreateFail,
		&st.CompareAndSwapSuccess, &st.CompareAndSwapFail,
		&st.CompareAndDeleteSuccess, &st.CompareAndDeleteFail,
		&st.ExpireCount,
	}
}

// Snapshot serializes the whole store.
func (s *Store) Snapshot() []byte {
	b := make([]byte, 0, max(64+48*len(s.nodes), s.snapSize+s.snapSize/8))
	b = append(b, snapMagic...)
	b = append(b, snapVersion)
	b = binary.AppendUvarint(b, s.index)
	for _, c := range s.counters() {
		b = binary.AppendUvarint(b, *c)
	}
	b = binary.AppendUvarint(b, uint64(s.Len()))
	b = binary.AppendUvarint(b, uint64(len(*s.root.kids)))
	for _, k := range *s.root.kids {
		b = appendSnapNode(b, k)
	}
	evs := s.recent.all()
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for _, e := range evs {
		b = e.AppendBinary(b)
	}
	b = appendCRC(b)
	s.snapSize = len(b)
	return b
}

func appendCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func appendSnapNode(b []byte, n *node) []byte {
	_, name := splitPath(n.key)
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
		return append(b, n.value...)
	}
	b = binary.AppendUvarint(b, uint64(len(*n.kids)))
	for _, k := range *n.kids {
		b = appendSnapNode(b, k)
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
	if version != 1 && version != snapVersion {
		return nil, ErrCorruptSnapshot
	}
	r := actors.NewReader(body[len(snapMagic)+1:])
	s := &Store{index: r.Uvarint()}
	for _, c := range s.counters() {
		*c = r.Uvarint()
	}
	total := r.Uvarint()
	if r.Bad() || total > uint64(r.Rest()) { // every node takes several bytes
		return nil, ErrCorruptSnapshot
	}
	s.nodes = make(map[string]*node, total+1)
	s.root = &node{key: "/", kids: new([]*node), heap: -1, plainKey: true}
	s.nodes["/"] = s.root

	// An explicit stack instead of recursion: depth is bounded by the data.
	type frame struct {
		dir  *node
		left uint64
	}
	stack := []frame{{dir: s.root, left: r.Uvarint()}}
	for len(stack) > 0 && !r.Bad() {
		top := &stack[len(stack)-1]
		if top.left == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		top.left--
		dir := top.dir
		name := r.String()
		flags := r.Byte()
		created, modified, expire := r.Uvarint(), r.Uvarint(), r.Varint()
		if r.Bad() || !validName(name) || flags&^flagIsDir != 0 || expire < 0 {
			return nil, ErrCorruptSnapshot
		}
		p := childPath(dir.key, name)
		if s.nodes[p] != nil || uint64(len(s.nodes)) > total {
			return nil, ErrCorruptSnapshot
		}
		n := s.link(dir, p, created)
		n.modified = modified
		if expire != 0 {
			n.expire = expire
			s.ttl = append(s.ttl, n)
		}
		if flags&flagIsDir != 0 {
			count := r.Uvarint()
			if count > uint64(r.Rest()) {
				return nil, ErrCorruptSnapshot
			}
			kids := make([]*node, 0, count)
			n.kids = &kids
			stack = append(stack, frame{dir: n, left: count})
		} else {
			n.setValue(r.String())
		}
	}
	if r.Bad() || len(stack) != 0 || uint64(s.Len()) != total {
		return nil, ErrCorruptSnapshot
	}
	if version >= 2 && !s.readRecent(&r) {
		return nil, ErrCorruptSnapshot
	}
	if r.Rest() != 0 {
		return nil, ErrCorruptSnapshot
	}
	s.ttl.init()
	return s, nil
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
