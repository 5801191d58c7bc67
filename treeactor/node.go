package treeactor

import "github.com/etcdv2/server/actors"

// node is one key of the tree. Once in the tree it never changes (a write
// puts a changed copy in its place), so a view may hand it to any goroutine.
// It is kept small because a large store holds millions: the full path is
// the tree's key, and a directory is just a flag, its children being the
// keys that follow it in the tree's order.
type node struct {
	key      string
	value    string
	created  uint64
	modified uint64
	expire   int64     // unix nanoseconds; 0: permanent
	due      *deadline // its place in the store's ttl heap while expire != 0
	dir      bool
	hidden   bool
	// plainKey and plainValue say the string needs no JSON escaping, worked
	// out once per write so that reads (far more frequent) copy it as is.
	plainKey   bool
	plainValue bool
}

func (n *node) isDir() bool { return n.dir }

// clone is the copy a write changes.
func (n *node) clone() *node {
	c := *n
	return &c
}

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
