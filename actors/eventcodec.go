package actors

import "encoding/binary"

// An event's binary form, for the tree's snapshot (which keeps the last
// events so that a restarted member's watchers are answered from them, as
// etcd keeps its watch history in its snapshot):
//
//	action, uvarint index, flags (bit 0 refresh, bit 1 node, bit 2 prevNode),
//	varint At, the node and the prevNode where flagged,
//	uvarint count of Removed and each path
//
// a node: key, value, flags (bit 0 dir), varint expiration, uvarint
// modified, uvarint created, uvarint count of children and each child.
// Strings are a uvarint length and the bytes.

const (
	evRefresh  = 1
	evNode     = 2
	evPrevNode = 4
	nodeDir    = 1
	// maxNodeDepth bounds decoding: an event's node has no children in
	// practice, and corrupt input must not recurse without end.
	maxNodeDepth = 32
)

// AppendBinary appends e's binary form to b.
func (e *Event) AppendBinary(b []byte) []byte {
	b = appendString(b, e.Action)
	b = binary.AppendUvarint(b, e.Index)
	var flags byte
	if e.Refresh {
		flags |= evRefresh
	}
	if e.Node != nil {
		flags |= evNode
	}
	if e.PrevNode != nil {
		flags |= evPrevNode
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, e.At)
	if e.Node != nil {
		b = e.Node.appendBinary(b)
	}
	if e.PrevNode != nil {
		b = e.PrevNode.appendBinary(b)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Removed)))
	for _, p := range e.Removed {
		b = appendString(b, p)
	}
	return b
}

func (n *Node) appendBinary(b []byte) []byte {
	b = appendString(b, n.Key)
	b = appendString(b, n.Value)
	var flags byte
	if n.Dir {
		flags |= nodeDir
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, n.Expiration)
	b = binary.AppendUvarint(b, n.ModifiedIndex)
	b = binary.AppendUvarint(b, n.CreatedIndex)
	b = binary.AppendUvarint(b, uint64(len(n.Nodes)))
	for _, c := range n.Nodes {
		b = c.appendBinary(b)
	}
	return b
}

// ReadEvent reads one event in the form AppendBinary writes; nil when the
// input is bad (r.Bad() says so).
func (r *Reader) ReadEvent() *Event {
	e := &Event{Action: internAction(r.String()), Index: r.Uvarint()}
	flags := r.Byte()
	e.Refresh = flags&evRefresh != 0
	e.At = r.Varint()
	if flags&evNode != 0 {
		e.Node = r.readNode(0)
	}
	if flags&evPrevNode != 0 {
		e.PrevNode = r.readNode(0)
	}
	if n := r.Uvarint(); n > 0 {
		if n > uint64(r.Rest()) { // each path takes a byte at least
			r.fail()
			return nil
		}
		e.Removed = make([]string, n)
		for i := range e.Removed {
			e.Removed[i] = r.String()
		}
	}
	if r.bad {
		return nil
	}
	return e
}

func (r *Reader) readNode(depth int) *Node {
	if depth > maxNodeDepth {
		r.fail()
		return nil
	}
	n := &Node{Key: r.String(), Value: r.String()}
	n.Dir = r.Byte()&nodeDir != 0
	n.Expiration = r.Varint()
	n.ModifiedIndex = r.Uvarint()
	n.CreatedIndex = r.Uvarint()
	if k := r.Uvarint(); k > 0 {
		if k > uint64(r.Rest()) {
			r.fail()
			return nil
		}
		n.Nodes = make([]*Node, k)
		for i := range n.Nodes {
			n.Nodes[i] = r.readNode(depth + 1)
		}
	}
	return n
}

// internAction returns the constant for a known action, so decoded events
// share their strings with live ones.
func internAction(a string) string {
	for _, k := range [...]string{ActionSet, ActionCreate, ActionUpdate, ActionDelete,
		ActionCompareAndSwap, ActionCompareAndDelete, ActionExpire, ActionGet} {
		if a == k {
			return k
		}
	}
	return a
}
