package treeactor

import (
	"slices"

	"github.com/etcdv2/server/actors"
)

// Store is the v2 key space with its etcd index and counters. It is not safe
// for concurrent use: the actor owns it. What it hands out (views, frozen
// snapshots) is.
type Store struct {
	tree  ptree
	root  *node // the root directory, never in the tree
	ttl   ttlHeap
	index uint64
	stats actors.StoreStats
	// m counts for Prometheus; shared by the stores one actor builds.
	m *storeMetrics
	// payload is the bytes of every key and value, for sizing snapshots.
	payload int
	// view is the view last handed out while nothing has changed since;
	// nil after a write, so the next reader freezes a new one.
	view *View

	// With journal set (the actor sets it) every change also lands in
	// events, which the actor drains after each batch.
	journal bool
	events  []*actors.Event
	recent  recent // the last events, for the snapshot
}

// NewStore makes an empty tree at etcd index 0.
func NewStore() *Store {
	return &Store{root: &node{key: "/", dir: true, plainKey: true}, m: newMetrics(nil)}
}

// countInto has the store count into m from now on.
func (s *Store) countInto(m *storeMetrics) { s.m = m }

// Index is the current etcd index.
func (s *Store) Index() uint64 { return s.index }

// Len is the number of keys (files and directories) below the root.
func (s *Store) Len() int { return s.tree.size }

// Stats are the /v2/stats/store counters (Watchers is the hub's, left 0).
func (s *Store) Stats() actors.StoreStats { return s.stats }

// SetJournal turns recording of events on or off.
func (s *Store) SetJournal(on bool) { s.journal = on }

// Drain hands over the events recorded since the last drain; the slice is
// the caller's to keep.
func (s *Store) Drain() []*actors.Event {
	evs := s.events
	s.events = nil
	return evs
}

// NextDeadline is the earliest deadline in the tree, in unix nanoseconds; 0
// when nothing expires. The tree is the one owner of deadlines: the timer
// actor is told only this.
func (s *Store) NextDeadline() int64 {
	if len(s.ttl) == 0 {
		return 0
	}
	return s.ttl[0].at
}

// View is the tree as it is now, for reading from any goroutine while the
// store goes on changing. Views taken with no write in between are the same.
func (s *Store) View() *View {
	if s.view == nil {
		s.tree.gen++ // freezes every page the view can reach
		s.view = &View{pages: s.tree.root, root: s.root}
	}
	return s.view
}

func (s *Store) emit(ev *actors.Event) {
	s.recent.add(ev)
	if s.journal {
		s.events = append(s.events, ev)
	}
}

func (s *Store) fail(code int, cause string) *actors.Error {
	return actors.NewError(code, cause, s.index)
}

func (s *Store) get(p string) *node {
	if p == "/" {
		return s.root
	}
	return s.tree.get(p)
}

// put places n in the tree, over the node at its key if there is one, and
// keeps the ttl heap in step with its deadline. old is what was there.
func (s *Store) put(n, old *node) {
	s.view = nil
	s.payload += len(n.key) + len(n.value)
	if old != nil {
		s.payload -= len(old.key) + len(old.value)
		if old.due != nil {
			n.due = old.due
		}
	}
	switch d := n.due; {
	case d == nil && n.expire != 0:
		n.due = &deadline{key: n.key, at: n.expire}
		s.ttl.push(n.due)
	case d != nil && n.expire == 0:
		s.ttl.remove(d)
		n.due = nil
	case d != nil && d.at != n.expire:
		d.at = n.expire
		s.ttl.fix(d)
	}
	s.tree.put(n)
}

// cut takes the node at n's key out of the tree and the ttl heap.
func (s *Store) cut(n *node) {
	s.view = nil
	s.payload -= len(n.key) + len(n.value)
	if n.due != nil {
		s.ttl.remove(n.due)
	}
	s.tree.del(n.key)
}

// lookup finds the node at a clean path, or etcd's error for the walk that
// fails.
func (s *Store) lookup(p string) (*node, *actors.Error) {
	if n := s.get(p); n != nil {
		return n, nil
	}
	return nil, s.walkError(p)
}

// walkError is the error of a walk down to a path that does not exist: 104
// at the first component that is a file, else 100 at the first missing one.
func (s *Store) walkError(p string) *actors.Error {
	file, missing := s.blocked(p)
	if file != nil {
		return s.fail(actors.EcodeNotDir, file.key)
	}
	return s.fail(actors.EcodeKeyNotFound, missing)
}

// blocked walks down to a path that does not exist and reports the first
// component that is a file, or else the first one that is missing.
func (s *Store) blocked(p string) (file *node, missing string) {
	for i := 1; i < len(p); {
		end := componentEnd(p, i)
		n := s.tree.get(p[:end])
		if n == nil {
			return nil, p[:end]
		}
		if !n.isDir() && end < len(p) {
			return n, ""
		}
		i = end + 1
	}
	return nil, p
}

// underDir reports whether the parent of a clean path other than "/" is a
// directory that exists, which all its own parents then are.
func (s *Store) underDir(p string) bool {
	dir, _ := splitPath(p)
	up := s.get(dir)
	return up != nil && up.isDir()
}

// componentEnd returns where the path component of p starting at i ends:
// at the next slash, or at the end of p.
func componentEnd(p string, i int) int {
	for i < len(p) && p[i] != '/' {
		i++
	}
	return i
}

// ensureDir returns the directory at a clean path, creating the missing ones
// (permanent, stamped with the coming index) on the way, as etcd's create and
// set do. A file on the way is 104 at that file.
func (s *Store) ensureDir(p string) (*node, *actors.Error) {
	if n := s.get(p); n != nil {
		if n.isDir() {
			return n, nil
		}
		return nil, s.fail(actors.EcodeNotDir, n.key)
	}
	var cur *node
	for i := 1; i < len(p); {
		end := componentEnd(p, i)
		cur = s.tree.get(p[:end])
		if cur == nil {
			cur = newNode(p[:end], s.index+1)
			cur.dir = true
			s.put(cur, nil)
		} else if !cur.isDir() {
			return nil, s.fail(actors.EcodeNotDir, cur.key)
		}
		i = end + 1
	}
	return cur, nil
}

// newNode is a new permanent file at a clean path; the caller turns it into
// a directory or gives it a value and deadline before putting it.
func newNode(p string, index uint64) *node {
	_, name := splitPath(p)
	return &node{
		key:      p,
		created:  index,
		modified: index,
		hidden:   name[0] == '_',
		plainKey: plainJSON(p),
	}
}

// hasChildren reports whether anything is below the directory n.
func (s *Store) hasChildren(n *node) bool {
	if n == s.root {
		return s.tree.size > 0
	}
	c := cursor{root: s.tree.root}
	c.seekAfter(n.key)
	return c.valid() && below(c.node().key, n.key)
}

// remove takes n and everything below it out of the tree; for a directory
// it returns every removed path, each after everything below it (the tree's
// order backwards), n's last.
func (s *Store) remove(n *node) []string {
	if !n.isDir() {
		s.cut(n)
		return nil
	}
	var sub []*node
	c := cursor{root: s.tree.root}
	for c.seekAfter(n.key); c.valid() && below(c.node().key, n.key); c.next() {
		sub = append(sub, c.node())
	}
	removed := make([]string, 0, 1+len(sub))
	for _, k := range slices.Backward(sub) {
		s.cut(k)
		removed = append(removed, k.key)
	}
	s.cut(n)
	return append(removed, n.key)
}
