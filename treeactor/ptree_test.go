package treeactor

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// pagesOf lists a tree's nodes by walking its pages, checking on the way
// that each page is within its width and its parent's bounds.
func pagesOf(t testing.TB, root *page) []*node {
	t.Helper()
	var all []*node
	var walk func(p *page, lo, hi string)
	walk = func(p *page, lo, hi string) {
		if p.width() == 0 || p.width() > fan {
			t.Fatalf("page of width %d", p.width())
		}
		if p.leaf() {
			if len(p.keys) != len(p.ents) {
				t.Fatalf("leaf with %d keys, %d nodes", len(p.keys), len(p.ents))
			}
			for i, n := range p.ents {
				if p.keys[i] != n.key {
					t.Fatalf("%s kept under key %s", n.key, p.keys[i])
				}
				if lo != "" && keyCmp(n.key, lo) < 0 || hi != "" && keyCmp(n.key, hi) >= 0 {
					t.Fatalf("%s outside [%q, %q)", n.key, lo, hi)
				}
				all = append(all, n)
			}
			return
		}
		if len(p.low) != len(p.kids) {
			t.Fatalf("branch with %d kids, %d bounds", len(p.kids), len(p.low))
		}
		for i, k := range p.kids {
			klo, khi := lo, hi
			if i > 0 {
				klo = p.low[i]
			}
			if i+1 < len(p.kids) {
				khi = p.low[i+1]
			}
			walk(k, klo, khi)
		}
	}
	if root != nil {
		walk(root, "", "")
	}
	return all
}

func keysOf(nodes []*node) []string {
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = n.key
	}
	return keys
}

func scan(root *page) []string {
	var keys []string
	c := cursor{root: root}
	for c.seek(func(string) bool { return false }); c.valid(); c.next() {
		keys = append(keys, c.node().key)
	}
	return keys
}

// The tree against a plain map through random puts and deletes, deep enough
// for several levels of pages, with views taken along the way: each view
// must still hold exactly what the tree held when it was taken, however
// much the tree changed after.
func TestTreeAgainstMapWithViews(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tr ptree
	want := map[string]*node{}
	type view struct {
		root *page
		keys []string
		vals map[string]*node
	}
	var views []view
	sorted := func() []string {
		ks := make([]string, 0, len(want))
		for k := range want {
			ks = append(ks, k)
		}
		slices.SortFunc(ks, keyCmp)
		return ks
	}
	for step := range 60000 {
		k := "/d" + strconv.Itoa(rng.IntN(7)) + "/k" + strconv.Itoa(rng.IntN(9000))
		if rng.IntN(3) == 0 {
			delete(want, k)
			tr.del(k)
		} else {
			n := &node{key: k, value: strconv.Itoa(step)}
			want[k] = n
			tr.put(n)
		}
		if step%7000 == 0 {
			tr.gen++ // what Store.View does
			vals := make(map[string]*node, len(want))
			for k, v := range want {
				vals[k] = v
			}
			views = append(views, view{root: tr.root, keys: sorted(), vals: vals})
		}
	}
	// Deletes in a row empty whole pages and merge them.
	for _, k := range sorted()[:len(want)*3/4] {
		delete(want, k)
		tr.del(k)
	}
	if got, w := keysOf(pagesOf(t, tr.root)), sorted(); !slices.Equal(got, w) || tr.size != len(w) {
		t.Fatalf("tree holds %d keys (size %d), want %d", len(got), tr.size, len(w))
	}
	if got := scan(tr.root); !slices.Equal(got, sorted()) {
		t.Fatalf("cursor scan differs from the keys")
	}
	for k, n := range want {
		if tr.get(k) != n {
			t.Fatalf("get %s", k)
		}
	}
	for i, v := range views {
		if got := keysOf(pagesOf(t, v.root)); !slices.Equal(got, v.keys) {
			t.Fatalf("view %d changed: %d keys, had %d", i, len(got), len(v.keys))
		}
		vt := ptree{root: v.root}
		for k, n := range v.vals {
			if vt.get(k) != n {
				t.Fatalf("view %d: %s changed", i, k)
			}
		}
	}
	if len(views) < 5 || depth(views[len(views)-1].root) < 3 {
		t.Fatalf("the test did not reach a deep tree")
	}
}

func depth(p *page) int {
	d := 1
	for !p.leaf() {
		p, d = p.kids[0], d+1
	}
	return d
}

// Keys added at the end fill pages to the brim: in-order keys cost no half
// empty pages.
func TestTreeAppendsPack(t *testing.T) {
	var tr ptree
	for i := range 10000 {
		tr.put(&node{key: "/q/" + strconv.Itoa(100000+i)})
	}
	leaves := 0
	var walk func(p *page)
	walk = func(p *page) {
		if p.leaf() {
			leaves++
			return
		}
		for _, k := range p.kids {
			walk(k)
		}
	}
	walk(tr.root)
	if leaves > 10000/fan+1 {
		t.Fatalf("%d leaves for 10000 appended keys", leaves)
	}
}

// '/' sorts below every byte, so a directory's subtree follows it directly
// even when a sibling's name extends the directory's with a lower byte.
func TestKeyOrderKeepsSubtreesTogether(t *testing.T) {
	keys := []string{"/a", "/a-b", "/a/z", "/a/\x00", "/a\x00", "/a/b/c", "/a/b", "/b", "/a.", "/a/b-"}
	slices.SortFunc(keys, keyCmp)
	want := []string{"/a", "/a/\x00", "/a/b", "/a/b/c", "/a/b-", "/a/z", "/a\x00", "/a-b", "/a.", "/b"}
	if !slices.Equal(keys, want) {
		t.Fatalf("order %q", keys)
	}
	var tr ptree
	for _, k := range keys {
		tr.put(&node{key: k, dir: true})
	}
	c := cursor{root: tr.root}
	c.seekPast("/a")
	if c.node().key != "/a\x00" {
		t.Fatalf("past /a: %q", c.node().key)
	}
	c.seekAfter("/a/b")
	if c.node().key != "/a/b/c" {
		t.Fatalf("after /a/b: %q", c.node().key)
	}
	c.seekPast("/b")
	if c.valid() {
		t.Fatalf("past the last key: %q", c.node().key)
	}
}
