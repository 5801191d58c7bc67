package treeactor

// ttlHeap orders the nodes that have a deadline, earliest first and by path
// among equal deadlines, so that every member expires them in the same order.
// Each node remembers its position, so a node can leave the heap in O(log n)
// when it is deleted or made permanent.
type ttlHeap []*node

func before(a, b *node) bool {
	if a.expire != b.expire {
		return a.expire < b.expire
	}
	return a.key < b.key
}

func (h *ttlHeap) push(n *node) {
	n.heap = int32(len(*h))
	*h = append(*h, n)
	h.up(int(n.heap))
}

func (h *ttlHeap) remove(n *node) {
	i := int(n.heap)
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	n.heap = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

// fix restores the order after n's deadline changed.
func (h *ttlHeap) fix(n *node) {
	i := int(n.heap)
	if !h.down(i) {
		h.up(i)
	}
}

// init orders a heap filled in any order (after a restore).
func (h *ttlHeap) init() {
	for i, n := range *h {
		n.heap = int32(i)
	}
	for i := len(*h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h ttlHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heap = int32(i)
	h[j].heap = int32(j)
}

func (h ttlHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !before(h[i], h[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h ttlHeap) down(i0 int) bool {
	i := i0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && before(h[r], h[l]) {
			m = r
		}
		if !before(h[m], h[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > i0
}
