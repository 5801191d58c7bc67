package treeactor

import "github.com/etcdv2/server/actors"

// Store is the v2 key space with its etcd index and counters. It is not safe
// for concurrent use: the actor owns it.
type Store struct {
	root  *node
	nodes map[string]*node // every node, the root included, by full path
	ttl   ttlHeap
	index uint64
	stats actors.StoreStats
	// snapSize is the last snapshot's length: the next one is sized from it,
	// so a big tree is written into one allocation instead of doubling into it.
	snapSize int

	// With journal set (the actor sets it) every change also lands in
	// events, which the actor drains after each batch.
	journal bool
	events  []*actors.Event
	recent  recent // the last events, for the snapshot

	scratch []*node // sorted listings stack their children here
}

// NewStore makes an empty tree at etcd index 0.
func NewStore() *Store {
	s := &Store{nodes: make(map[string]*node)}
	s.root = &node{key: "/", kids: new([]*node), heap: -1, plainKey: true}
	s.nodes["/"] = s.root
	return s
}

// Index is the current etcd index.
func (s *Store) Index() uint64 { return s.index }

// Len is the number of keys (files and directories) below the root.
func (s *Store) Len() int { return len(s.nodes) - 1 }

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
	return s.ttl[0].expire
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

// lookup finds the node at a clean path, or etcd's error for the walk that
// fails.
func (s *Store) lookup(p string) (*node, *actors.Error) {
	if n := s.nodes[p]; n != nil {
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
		n := s.nodes[p[:end]]
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
	if n := s.nodes[p]; n != nil {
		if n.isDir() {
			return n, nil
		}
		return nil, s.fail(actors.EcodeNotDir, n.key)
	}
	cur := s.root
	for i := 1; i < len(p); {
		end := componentEnd(p, i)
		n := s.nodes[p[:end]]
		if n == nil {
			n = s.link(cur, p[:end], s.index+1)
			n.kids = new([]*node)
		} else if !n.isDir() {
			return nil, s.fail(actors.EcodeNotDir, n.key)
		}
		cur = n
		i = end + 1
	}
	return cur, nil
}

// link adds a new permanent file node under dir; the caller turns it into a
// directory or gives it a value and deadline.
func (s *Store) link(dir *node, p string, index uint64) *node {
	_, name := splitPath(p)
	n := &node{
		key:      p,
		created:  index,
		modified: index,
		heap:     -1,
		hidden:   name[0] == '_',
		plainKey: plainJSON(p),
	}
	kids := dir.kids
	n.slot = int32(len(*kids))
	*kids = append(*kids, n)
	s.nodes[p] = n
	return n
}

// unlink takes n out of its parent's children (swap with the last one).
func (s *Store) unlink(n *node) {
	dirPath, _ := splitPath(n.key)
	dir := s.nodes[dirPath]
	if dir == nil || !dir.isDir() {
		return
	}
	kids := *dir.kids
	i, last := int(n.slot), len(kids)-1
	if i > last || kids[i] != n {
		return
	}
	if i != last {
		kids[i] = kids[last]
		kids[i].slot = int32(i)
	}
	kids[last] = nil
	*dir.kids = kids[:last]
	if len(*dir.kids) == 0 && cap(*dir.kids) > 16 {
		*dir.kids = nil
	}
}

// drop removes n and everything below it from the index and the ttl heap.
// With removed non-nil
// it collects every path, descendants first and n last.
func (s *Store) drop(n *node, removed *[]string) {
	if n.isDir() {
		for _, k := range *n.kids {
			s.drop(k, removed)
		}
	}
	delete(s.nodes, n.key)
	if n.heap >= 0 {
		s.ttl.remove(n)
	}
	if removed != nil {
		*removed = append(*removed, n.key)
	}
}

// remove unlinks n and drops its subtree; for a directory it returns every
// removed path.
func (s *Store) remove(n *node) []string {
	s.unlink(n)
	if !n.isDir() {
		s.drop(n, nil)
		return nil
	}
	removed := make([]string, 0, 1+len(*n.kids))
	s.drop(n, &removed)
	return removed
}

// setExpire gives n a deadline (0: permanent), keeping the heap in order.
func (s *Store) setExpire(n *node, at int64) {
	old := n.expire
	n.expire = at
	switch {
	case old == 0 && at == 0:
		return
	case at == 0:
		s.ttl.remove(n)
	case old == 0:
		s.ttl.push(n)
	default:
		s.ttl.fix(n)
	}
}
