package treeactor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/etcdv2/server/actors"
)

// checkInvariants verifies the store's internal bookkeeping: the tree's
// pages hold their keys in strictly rising order between their bounds, its
// size is its node count, every node sits below a directory, and the ttl
// heap is ordered and holds exactly the nodes with a deadline.
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	all := pagesOf(t, s.tree.root)
	if len(all) != s.tree.size {
		t.Fatalf("tree holds %d nodes, its size says %d", len(all), s.tree.size)
	}
	withDeadline, payload := 0, 0
	for i, n := range all {
		payload += len(n.key) + len(n.value)
		if i > 0 && keyCmp(all[i-1].key, n.key) >= 0 {
			t.Fatalf("%s after %s", n.key, all[i-1].key)
		}
		dir, name := splitPath(n.key)
		if up := s.get(dir); up == nil || !up.isDir() {
			t.Fatalf("%s is not below a directory", n.key)
		}
		if n.hidden != (name[0] == '_') {
			t.Fatalf("%s: hidden flag %v", n.key, n.hidden)
		}
		if n.expire != 0 {
			withDeadline++
			d := n.due
			if d == nil || d.pos < 0 || int(d.pos) >= len(s.ttl) || s.ttl[d.pos] != d || d.key != n.key || d.at != n.expire {
				t.Fatalf("%s: deadline %d but heap entry %+v", n.key, n.expire, d)
			}
		} else if n.due != nil {
			t.Fatalf("%s: permanent but in the heap", n.key)
		}
	}
	if payload != s.payload {
		t.Fatalf("keys and values take %d bytes, the store counts %d", payload, s.payload)
	}
	if withDeadline != len(s.ttl) {
		t.Fatalf("heap holds %d entries, %d nodes have deadlines", len(s.ttl), withDeadline)
	}
	for i := 1; i < len(s.ttl); i++ {
		if before(s.ttl[i], s.ttl[(i-1)/2]) {
			t.Fatalf("heap out of order at %d", i)
		}
	}
}

// nodesOf lists every node of the store in the tree's order.
func nodesOf(s *Store) []*node {
	var all []*node
	c := cursor{root: s.tree.root}
	for c.seek(func(string) bool { return false }); c.valid(); c.next() {
		all = append(all, c.node())
	}
	return all
}

// kidsOf lists n's children the slow, obvious way.
func kidsOf(s *Store, n *node) []*node {
	var kids []*node
	for _, k := range nodesOf(s) {
		if d, _ := splitPath(k.key); d == n.key {
			kids = append(kids, k)
		}
	}
	return kids
}

// dump renders every field of every node, hidden ones included, in the
// tree's own order, plus the index and counters.
func dump(s *Store) string {
	var b strings.Builder
	fmt.Fprintf(&b, "index=%d stats=%+v\n", s.index, s.stats)
	for _, n := range append([]*node{s.root}, nodesOf(s)...) {
		fmt.Fprintf(&b, "%s%q dir=%v value=%q c=%d m=%d exp=%d\n",
			strings.Repeat(" ", strings.Count(n.key, "/")), n.key, n.isDir(), n.value, n.created, n.modified, n.expire)
	}
	return b.String()
}

// externTree copies a node as actors.Node the slow, obvious way, so the
// tree's direct renderer can be compared with actors.Node.AppendJSON. The
// children come sorted by key, which is the order the tree renders in
// whether or not a listing asked for it.
func externTree(s *Store, n *node, list, recursive bool) *actors.Node {
	e := n.extern()
	if !list || !n.isDir() {
		return e
	}
	for _, k := range kidsOf(s, n) {
		if !k.hidden {
			e.Nodes = append(e.Nodes, externTree(s, k, recursive, recursive))
		}
	}
	slices.SortFunc(e.Nodes, func(a, b *actors.Node) int { return strings.Compare(a.Key, b.Key) })
	return e
}

// checkRender compares the direct rendering of a get with the rendering of
// its actors.Node copy.
func checkRender(t testing.TB, s *Store, p string, recursive, sorted bool, at int64) {
	t.Helper()
	stats := s.stats
	got, err := s.AppendGet(nil, p, recursive, sorted, at)
	s.stats = stats
	n, lerr := s.lookup(actors.CleanKey(p))
	if (err == nil) != (lerr == nil) {
		t.Fatalf("get %s: %v, lookup %v", p, err, lerr)
	}
	if err != nil {
		return
	}
	ev := &actors.Event{Action: actors.ActionGet, Node: externTree(s, n, true, recursive)}
	if want := ev.AppendJSON(nil, at, false); string(got) != string(want) {
		t.Fatalf("get %s recursive=%v sorted=%v:\n got %s\nwant %s", p, recursive, sorted, got, want)
	}
}

func TestPlainJSON(t *testing.T) {
	for c := 0; c < 256; c++ {
		s := "a" + string([]byte{byte(c)}) + "z"
		if plainJSON(s) && string(actors.AppendJSONString(nil, s)) != `"`+s+`"` {
			t.Fatalf("byte %#x taken for plain but escaped", c)
		}
		if got, want := appendJSONString(nil, s, plainJSON(s)), actors.AppendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("byte %#x: %s, want %s", c, got, want)
		}
	}
}

// A large store holds millions of nodes: keep each within the 80-byte size
// class.
func TestNodeSize(t *testing.T) {
	if size := unsafe.Sizeof(node{}); size > 80 {
		t.Fatalf("node is %d bytes", size)
	}
}
