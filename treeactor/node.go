package treeactor

import "github.com/etcdv2/server/actors"

// node is one key of the tree. It is kept small (80 bytes) because a large
// store holds millions of them: the full path doubles as the index map's key,
// a directory is a node with a non-nil kids, and the parent is found through
// the index map when a node is unlinked (rare) rather than stored in each node.
type node struct {
	key      string
	value    string
	kids     *[]*node // nil for a file
	created  uint64
	modified uint64
	expire   int64 // unix nanoseconds; 0: permanent
	slot     int32 // position in the parent's kids
	heap     int32 // position in the ttl heap; -1 when permanent
	hidden   bool
	// plainKey and plainValue say the string needs no JSON escaping, worked
	// out once per write so that reads (far more frequent) copy it as is.
	plainKey   bool
	plainValue bool
}

func (n *node) isDir() bool { return n.kids != nil }

func (n *node) setValue(v string) {
	n.value = v
	n.plainValue = plainJSON(v)
}

// plainJSON reports whether actors.AppendJSONString would copy s unchanged
// between its quotes: printable ASCII without '"', '\\', '<', '>' and '&'.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func appendJSONString(b []byte, s string, plain bool) []byte {
	if !plain {
		return actors.AppendJSONString(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// extern copies the node as etcd's non-recursive representation: a directory
// is just dir:true, a file carries its value.
func (n *node) extern() *actors.Node {
	e := &actors.Node{
		Key:           n.key,
		Expiration:    n.expire,
		ModifiedIndex: n.modified,
		CreatedIndex:  n.created,
	}
	if n.isDir() {
		e.Dir = true
	} else {
		e.Value = n.value
	}
	return e
}

// gone is the node of a delete, compareAndDelete or expire event: the key,
// whether it was a directory, the event's index and the original creation
// index; no value and no deadline.
func (n *node) gone(index uint64) *actors.Node {
	return &actors.Node{
		Key:           n.key,
		Dir:           n.isDir(),
		ModifiedIndex: index,
		CreatedIndex:  n.created,
	}
}
