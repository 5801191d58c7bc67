package treeactor

import (
	"math/bits"
	"slices"
	"sort"
	"unsafe"
)

// The key space is one persistent B+tree of nodes keyed by their full path,
// in an order where '/' sorts before every other byte: a directory's whole
// subtree then follows the directory directly, a listing is one forward
// scan, and siblings come in plain byte order, which is the order of a
// sorted listing.
//
// Pages are copied on write, but only pages of an older generation: taking a
// view bumps the generation, which freezes every page that view can reach.
// Between views the actor changes its own pages in place, so a batch of
// writes with no read in between copies nothing, and a view, once taken, is
// never changed: any goroutine may read it while the actor writes on.

// fan is the most entries (nodes or child pages) a page holds.
const fan = 64

type page struct {
	gen  uint64
	keys []string // a leaf's keys, in order: the search reads them in a row
	ents []*node  // and their nodes
	kids []*page  // a branch's pages
	low  []string // low[i] is at most every key under kids[i] and above every key under kids[i-1]
}

func (p *page) leaf() bool { return p.kids == nil }

func (p *page) width() int {
	if p.leaf() {
		return len(p.ents)
	}
	return len(p.kids)
}

func (p *page) lowKey() string {
	if p.leaf() {
		return p.keys[0]
	}
	return p.low[0]
}

type ptree struct {
	root *page // nil when empty
	gen  uint64
	size int
}

// keyCmp orders paths byte by byte with '/' below every other byte. It is
// the tree's inner loop (a lookup makes a few dozen), so it finds the first
// differing byte eight at a time.
func keyCmp(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	if n >= 8 {
		pa, pb := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(b))
		for ; i+8 <= n; i += 8 {
			if x := *(*uint64)(unsafe.Add(pa, i)) ^ *(*uint64)(unsafe.Add(pb, i)); x != 0 {
				i += firstByte(x)
				return rank(a[i]) - rank(b[i])
			}
		}
	}
	for ; i < n; i++ {
		if a[i] != b[i] {
			return rank(a[i]) - rank(b[i])
		}
	}
	return len(a) - len(b)
}

// littleEndian says which end of a loaded word holds the lowest address.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// firstByte is the offset of the first nonzero byte of a word loaded from
// memory.
func firstByte(x uint64) int {
	if littleEndian {
		return bits.TrailingZeros64(x) / 8
	}
	return bits.LeadingZeros64(x) / 8
}

func rank(c byte) int {
	if c == '/' {
		return 0
	}
	return int(c) + 1
}

// below reports whether key is inside dir's subtree ("/" holds every key).
func below(key, dir string) bool {
	if dir == "/" {
		return true
	}
	return len(key) > len(dir) && key[len(dir)] == '/' && key[:len(dir)] == dir
}

// leafIndex finds key's slot in a leaf: where it is, or where it would go.
func leafIndex(keys []string, key string) (int, bool) {
	lo, hi := 0, len(keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keyCmp(keys[m], key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(keys) && keys[lo] == key
}

// kidIndex is the child of a branch whose range holds key: the last one
// whose lower bound is not above it (the first has no bound).
func kidIndex(p *page, key string) int {
	lo, hi := 1, len(p.kids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keyCmp(p.low[m], key) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

func (t *ptree) get(key string) *node {
	p := t.root
	if p == nil {
		return nil
	}
	for !p.leaf() {
		p = p.kids[kidIndex(p, key)]
	}
	if i, ok := leafIndex(p.keys, key); ok {
		return p.ents[i]
	}
	return nil
}

// own returns p if this generation may change it, else a copy that it may.
func (t *ptree) own(p *page) *page {
	if p.gen == t.gen {
		return p
	}
	c := &page{gen: t.gen}
	if p.leaf() {
		c.keys = append(make([]string, 0, fan+1), p.keys...)
		c.ents = append(make([]*node, 0, fan+1), p.ents...)
	} else {
		c.kids = append(make([]*page, 0, fan+1), p.kids...)
		c.low = append(make([]string, 0, fan+1), p.low...)
	}
	return c
}

// put adds n, or replaces the node at its key.
func (t *ptree) put(n *node) {
	if t.root == nil {
		t.root = &page{gen: t.gen, keys: make([]string, 0, fan+1), ents: make([]*node, 0, fan+1)}
	}
	t.root = t.own(t.root)
	if right := t.insert(t.root, n); right != nil {
		left := t.root
		t.root = &page{gen: t.gen,
			kids: append(make([]*page, 0, fan+1), left, right),
			low:  append(make([]string, 0, fan+1), left.lowKey(), right.lowKey())}
	}
}

// insert puts n under the owned page p and returns p's new right sibling
// when p had to split.
func (t *ptree) insert(p *page, n *node) *page {
	if p.leaf() {
		i, ok := leafIndex(p.keys, n.key)
		if ok {
			p.ents[i] = n
			return nil
		}
		t.size++
		p.keys = slices.Insert(p.keys, i, n.key)
		p.ents = slices.Insert(p.ents, i, n)
		if len(p.ents) <= fan {
			return nil
		}
		return t.split(p, i == fan)
	}
	i := kidIndex(p, n.key)
	kid := t.own(p.kids[i])
	p.kids[i] = kid
	right := t.insert(kid, n)
	if right == nil {
		return nil
	}
	p.kids = slices.Insert(p.kids, i+1, right)
	p.low = slices.Insert(p.low, i+1, right.lowKey())
	if len(p.kids) <= fan {
		return nil
	}
	return t.split(p, i+1 == fan)
}

// split moves the upper part of an overfull page into a new one. Keys added
// at the end (in-order keys, a sorted load) leave the lower page full.
func (t *ptree) split(p *page, atEnd bool) *page {
	w := p.width()
	mid := w / 2
	if atEnd {
		mid = w - 1
	}
	r := &page{gen: t.gen}
	if p.leaf() {
		r.keys = append(make([]string, 0, fan+1), p.keys[mid:]...)
		r.ents = append(make([]*node, 0, fan+1), p.ents[mid:]...)
		clear(p.keys[mid:])
		clear(p.ents[mid:])
		p.keys, p.ents = p.keys[:mid], p.ents[:mid]
	} else {
		r.kids = append(make([]*page, 0, fan+1), p.kids[mid:]...)
		r.low = append(make([]string, 0, fan+1), p.low[mid:]...)
		clear(p.kids[mid:])
		clear(p.low[mid:])
		p.kids, p.low = p.kids[:mid], p.low[:mid]
	}
	return r
}

// del removes the node at key, if there is one. It looks first, so that a
// key that is not there copies no frozen page on the way down.
func (t *ptree) del(key string) bool {
	if t.get(key) == nil {
		return false
	}
	t.root = t.own(t.root)
	t.remove(t.root, key)
	t.size--
	for !t.root.leaf() && len(t.root.kids) == 1 {
		t.root = t.root.kids[0]
	}
	if t.root.leaf() && len(t.root.ents) == 0 {
		t.root = nil
	}
	return true
}

func (t *ptree) remove(p *page, key string) {
	if p.leaf() {
		i, _ := leafIndex(p.keys, key)
		p.keys = slices.Delete(p.keys, i, i+1)
		p.ents = slices.Delete(p.ents, i, i+1)
		return
	}
	i := kidIndex(p, key)
	kid := t.own(p.kids[i])
	p.kids[i] = kid
	t.remove(kid, key)
	switch w := kid.width(); {
	case w == 0:
		p.kids = slices.Delete(p.kids, i, i+1)
		p.low = slices.Delete(p.low, i, i+1)
	case w < fan/4 && len(p.kids) > 1:
		if i == len(p.kids)-1 {
			i--
		}
		t.merge(p, i)
	}
}

// merge joins kids[i+1] into kids[i] when both fit in one page, so pages
// emptied by deletes do not pile up.
func (t *ptree) merge(p *page, i int) {
	l, r := p.kids[i], p.kids[i+1]
	if l.width()+r.width() > fan {
		return
	}
	l = t.own(l)
	p.kids[i] = l
	if l.leaf() {
		l.keys = append(l.keys, r.keys...)
		l.ents = append(l.ents, r.ents...)
	} else {
		l.kids = append(l.kids, r.kids...)
		// r's own low[0] may be stale; the parent's bound for r is exact.
		l.low = append(l.low, p.low[i+1])
		l.low = append(l.low, r.low[1:]...)
	}
	p.kids = slices.Delete(p.kids, i+1, i+2)
	p.low = slices.Delete(p.low, i+1, i+2)
}

// build makes the pages of a tree from nodes already in key order, packed
// 7/8 full so the first writes after a restore rarely split.
func build(nodes []*node, gen uint64) *page {
	if len(nodes) == 0 {
		return nil
	}
	const per = fan * 7 / 8
	var level []*page
	for i := 0; i < len(nodes); i += per {
		end := min(i+per, len(nodes))
		p := &page{gen: gen, keys: make([]string, 0, fan+1), ents: append(make([]*node, 0, fan+1), nodes[i:end]...)}
		for _, n := range p.ents {
			p.keys = append(p.keys, n.key)
		}
		level = append(level, p)
	}
	for len(level) > 1 {
		var up []*page
		for i := 0; i < len(level); i += per {
			end := min(i+per, len(level))
			p := &page{gen: gen, kids: append(make([]*page, 0, fan+1), level[i:end]...), low: make([]string, 0, fan+1)}
			for _, k := range p.kids {
				p.low = append(p.low, k.lowKey())
			}
			up = append(up, p)
		}
		level = up
	}
	return level[0]
}

// cursor walks a tree's nodes forward in key order.
type cursor struct {
	root  *page
	stack []frame // the branches above the leaf, and which child was taken
	leaf  *page   // nil once past the end
	i     int
	// rendered counts the nodes a listing rendered from this cursor.
	rendered int
}

type frame struct {
	p *page
	i int
}

func (c *cursor) valid() bool { return c.leaf != nil }
func (c *cursor) node() *node { return c.leaf.ents[c.i] }

// seek goes to the first node whose key is not before the target; before
// must hold for a prefix of the key order and for nothing after it.
func (c *cursor) seek(before func(key string) bool) {
	c.stack = c.stack[:0]
	c.leaf = nil
	p := c.root
	if p == nil {
		return
	}
	for !p.leaf() {
		i := sort.Search(len(p.kids)-1, func(x int) bool { return !before(p.low[x+1]) })
		c.stack = append(c.stack, frame{p, i})
		p = p.kids[i]
	}
	c.leaf = p
	c.i = sort.Search(len(p.keys), func(x int) bool { return !before(p.keys[x]) })
	if c.i == len(p.ents) {
		c.nextLeaf()
	}
}

// seekAfter goes to the first node after key; for a directory that is its
// first child, if it has one.
func (c *cursor) seekAfter(key string) {
	c.seek(func(k string) bool { return keyCmp(k, key) <= 0 })
}

// seekPast goes to the first node after dir's whole subtree.
func (c *cursor) seekPast(dir string) {
	c.seek(func(k string) bool { return keyCmp(k, dir) <= 0 || below(k, dir) })
}

func (c *cursor) next() {
	c.i++
	if c.i == len(c.leaf.ents) {
		c.nextLeaf()
	}
}

func (c *cursor) nextLeaf() {
	for len(c.stack) > 0 {
		top := &c.stack[len(c.stack)-1]
		if top.i+1 < len(top.p.kids) {
			top.i++
			p := top.p.kids[top.i]
			for !p.leaf() {
				c.stack = append(c.stack, frame{p, 0})
				p = p.kids[0]
			}
			c.leaf, c.i = p, 0
			return
		}
		c.stack = c.stack[:len(c.stack)-1]
	}
	c.leaf = nil
}

// skip moves on from n, which the cursor stands on, past its subtree.
func (c *cursor) skip(n *node) {
	if !n.dir {
		c.next()
		return
	}
	c.seekPast(n.key)
}
