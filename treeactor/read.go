package treeactor

import (
	"slices"
	"strings"

	"github.com/etcdv2/server/actors"
)

// AppendGet appends the body of a get (the "get" event, trailing newline
// included) rendered straight from the tree, with ttl seen at now. A
// directory lists its visible children, expanded further only when
// recursive; sorted orders them by key, otherwise they come in the tree's own
// order. It counts the get in the store's counters.
func (s *Store) AppendGet(b []byte, p string, recursive, sorted bool, now int64) ([]byte, *actors.Error) {
	n, err := s.lookup(actors.CleanKey(p))
	if err != nil {
		s.stats.GetFail++
		return b, err
	}
	s.stats.GetSuccess++
	b = append(b, `{"action":"get","node":`...)
	b = s.appendNode(b, n, now, true, recursive, sorted)
	return append(b, "}\n"...), nil
}

// appendNode renders n exactly as actors.Node.AppendJSON renders its copy;
// list says whether a directory shows its children.
func (s *Store) appendNode(b []byte, n *node, now int64, list, recursive, sorted bool) []byte {
	b = append(b, '{')
	root := n == s.root
	if !root {
		b = append(b, `"key":`...)
		b = appendJSONString(b, n.key, n.plainKey)
		b = append(b, ',')
	}
	if n.isDir() {
		b = append(b, `"dir":true,`...)
	} else {
		b = append(b, `"value":`...)
		b = appendJSONString(b, n.value, n.plainValue)
		b = append(b, ',')
	}
	if n.expire != 0 {
		b = append(b, `"expiration":`...)
		b = actors.AppendExpiration(b, n.expire)
		b = append(b, ',')
		if ttl := actors.TTLAt(n.expire, now); ttl != 0 {
			b = append(b, `"ttl":`...)
			b = actors.AppendUint(b, uint64(ttl))
			b = append(b, ',')
		}
	}
	if list && n.isDir() {
		if sorted {
			b = s.appendSorted(b, *n.kids, now, recursive)
		} else {
			b = s.appendKids(b, *n.kids, now, recursive)
		}
	}
	if root {
		b[len(b)-1] = '}'
		return b
	}
	b = append(b, `"modifiedIndex":`...)
	b = actors.AppendUint(b, n.modified)
	b = append(b, `,"createdIndex":`...)
	b = actors.AppendUint(b, n.created)
	return append(b, '}')
}

// appendKids renders the visible children as a "nodes" member (none when
// there are none), each followed by a comma.
func (s *Store) appendKids(b []byte, kids []*node, now int64, recursive bool) []byte {
	first := true
	for _, k := range kids {
		if k.hidden {
			continue
		}
		if first {
			b = append(b, `"nodes":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = s.appendNode(b, k, now, recursive, recursive, false)
	}
	if !first {
		b = append(b, "],"...)
	}
	return b
}

// appendSorted is appendKids in key order. The children are sorted on the
// store's scratch stack, so nested listings reuse one slice; it is indexed
// afresh after each child because a nested listing may grow it.
func (s *Store) appendSorted(b []byte, kids []*node, now int64, recursive bool) []byte {
	start := len(s.scratch)
	for _, k := range kids {
		if !k.hidden {
			s.scratch = append(s.scratch, k)
		}
	}
	end := len(s.scratch)
	if start == end {
		return b
	}
	slices.SortFunc(s.scratch[start:end], func(x, y *node) int { return strings.Compare(x.key, y.key) })
	b = append(b, `"nodes":[`...)
	for i := start; i < end; i++ {
		if i > start {
			b = append(b, ',')
		}
		b = s.appendNode(b, s.scratch[i], now, recursive, recursive, true)
	}
	clear(s.scratch[start:end])
	s.scratch = s.scratch[:start]
	if start == 0 && cap(s.scratch) > 1<<16 {
		s.scratch = nil // do not keep a huge listing's stack alive
	}
	return append(b, "],"...)
}
