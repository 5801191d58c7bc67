package treeactor

import (
	"runtime"

	"github.com/etcdv2/server/actors"
)

// View is the key space frozen at one moment: nothing in it changes, so any
// goroutine may render from it while the tree actor applies the next writes.
// It implements actors.TreeView.
type View struct {
	pages *page
	root  *node
}

// Find looks up the key of a get and counts the get, as etcd counts it; the
// body is rendered from a View, by whoever asked, from the node found.
func (s *Store) Find(p string, recursive bool) (any, *actors.Error) {
	s.m.read(recursive)
	n, err := s.lookup(actors.CleanKey(p))
	if err != nil {
		s.stats.GetFail++
		return nil, err
	}
	s.stats.GetSuccess++
	return n, nil
}

// AppendGet appends the body of a get (the "get" event, trailing newline
// included), with ttl seen at now, and counts it.
func (s *Store) AppendGet(b []byte, p string, recursive, sorted bool, now int64) ([]byte, *actors.Error) {
	found, err := s.Find(p, recursive)
	if err != nil {
		return b, err
	}
	return s.View().AppendGet(b, found, recursive, sorted, now), nil
}

// AppendGet appends the body of a get of a node Find found in this view. A
// directory lists its visible children, expanded further only when
// recursive. Children always come in key order: what sorted asks for, and as
// good as any order for a listing that did not ask (etcd's is random).
func (v *View) AppendGet(b []byte, found any, recursive, _ bool, now int64) []byte {
	n := found.(*node)
	b = append(b, `{"action":"get","node":`...)
	c := cursor{root: v.pages}
	if n.isDir() {
		if n == v.root {
			c.seek(func(string) bool { return false })
		} else {
			c.seekAfter(n.key)
		}
	}
	b = v.appendNode(b, &c, n, now, true, recursive)
	return append(b, "}\n"...)
}

// yieldEvery is how many nodes a listing renders between giving up its
// turn at the CPU: with only a few cores, a goroutine rendering a listing of
// 100k keys would otherwise keep the goroutines of small requests waiting
// for its whole time slice at each of their steps.
const yieldEvery = 512

// appendNode renders n exactly as actors.Node.AppendJSON renders its copy;
// list says whether a directory shows its children. A listing takes them
// from the cursor, which stands on n's first child and is left after n's
// subtree.
func (v *View) appendNode(b []byte, c *cursor, n *node, now int64, list, recursive bool) []byte {
	b = append(b, '{')
	root := n == v.root
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
		b = v.appendKids(b, c, n.key, now, recursive)
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

// appendKids renders dir's visible children, from the cursor on, as a
// "nodes" member (none when there are none), followed by a comma. A child
// not expanded (hidden, or a directory of a listing that is not recursive)
// has its subtree skipped in one seek.
func (v *View) appendKids(b []byte, c *cursor, dir string, now int64, recursive bool) []byte {
	first := true
	for c.valid() {
		k := c.node()
		if !below(k.key, dir) {
			break
		}
		if k.hidden {
			c.skip(k)
			continue
		}
		if c.rendered++; c.rendered%yieldEvery == 0 {
			runtime.Gosched()
		}
		if first {
			b = append(b, `"nodes":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		if k.isDir() && recursive {
			c.next()
		}
		b = v.appendNode(b, c, k, now, recursive, recursive)
		if !k.isDir() || !recursive {
			c.skip(k)
		}
	}
	if !first {
		b = append(b, "],"...)
	}
	return b
}
