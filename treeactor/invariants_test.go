package treeactor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/etcdv2/server/actors"
)

// checkInvariants verifies the store's internal bookkeeping: the index map
// holds exactly the nodes reachable from the root, every slot and heap
// position is right, the heap is ordered and holds exactly the nodes with a
// deadline.
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	seen := 0
	withDeadline := 0
	var walk func(n *node)
	walk = func(n *node) {
		seen++
		if s.nodes[n.key] != n {
			t.Fatalf("%s is not indexed under its key", n.key)
		}
		if n != s.root {
			_, name := splitPath(n.key)
			if n.hidden != (name[0] == '_') {
				t.Fatalf("%s: hidden flag %v", n.key, n.hidden)
			}
		}
		if n.expire != 0 {
			withDeadline++
			if n.heap < 0 || int(n.heap) >= len(s.ttl) || s.ttl[n.heap] != n {
				t.Fatalf("%s: deadline but heap position %d", n.key, n.heap)
			}
		} else if n.heap != -1 {
			t.Fatalf("%s: permanent but heap position %d", n.key, n.heap)
		}
		if !n.isDir() {
			return
		}
		for i, k := range *n.kids {
			if int(k.slot) != i {
				t.Fatalf("%s: slot %d at %d", k.key, k.slot, i)
			}
			if d, _ := splitPath(k.key); d != n.key {
				t.Fatalf("%s listed under %s", k.key, n.key)
			}
			walk(k)
		}
	}
	walk(s.root)
	if seen != len(s.nodes) {
		t.Fatalf("index holds %d nodes, tree %d", len(s.nodes), seen)
	}
	if withDeadline != len(s.ttl) {
		t.Fatalf("heap holds %d nodes, %d have deadlines", len(s.ttl), withDeadline)
	}
	for i := 1; i < len(s.ttl); i++ {
		if before(s.ttl[i], s.ttl[(i-1)/2]) {
			t.Fatalf("heap out of order at %d", i)
		}
	}
}

// dump renders every field of every node, hidden ones included, in the
// tree's own order, plus the index and counters.
func dump(s *Store) string {
	var b strings.Builder
	fmt.Fprintf(&b, "index=%d stats=%+v\n", s.index, s.stats)
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		fmt.Fprintf(&b, "%s%q dir=%v value=%q c=%d m=%d exp=%d\n",
			strings.Repeat(" ", depth), n.key, n.isDir(), n.value, n.created, n.modified, n.expire)
		if n.isDir() {
			for _, k := range *n.kids {
				walk(k, depth+1)
			}
		}
	}
	walk(s.root, 0)
	return b.String()
}

// externTree copies a node as actors.Node the slow, obvious way, so the
// tree's direct renderer can be compared with actors.Node.AppendJSON.
func externTree(n *node, list, recursive, sorted bool) *actors.Node {
	e := n.extern()
	if !list || !n.isDir() {
		return e
	}
	for _, k := range *n.kids {
		if !k.hidden {
			e.Nodes = append(e.Nodes, externTree(k, recursive, recursive, sorted))
		}
	}
	if sorted {
		slices.SortFunc(e.Nodes, func(a, b *actors.Node) int { return strings.Compare(a.Key, b.Key) })
	}
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
	ev := &actors.Event{Action: actors.ActionGet, Node: externTree(n, true, recursive, sorted)}
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
