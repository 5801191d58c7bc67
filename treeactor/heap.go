package treeactor

// deadline is a node's entry in the ttl heap. It belongs to the store alone:
// views never read it, so the heap may move it while they read the node.
type deadline struct {
	key string
	at  int64
	pos int32
}

// ttlHeap orders the deadlines, earliest first and by path among equal ones,
// so that every member expires them in the same order. Each entry remembers
// its position, so a key can leave the heap in O(log n) when it is deleted
// or made permanent.
type ttlHeap []*deadline

func before(a, b *deadline) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.key < b.key
}

func (h *ttlHeap) push(d *deadline) {
	d.pos = int32(len(*h))
	*h = append(*h, d)
	h.up(int(d.pos))
}

func (h *ttlHeap) remove(d *deadline) {
	i := int(d.pos)
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	d.pos = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

// fix restores the order after d's time changed.
func (h *ttlHeap) fix(d *deadline) {
	i := int(d.pos)
	if !h.down(i) {
		h.up(i)
	}
}

// init orders a heap filled in any order (after a restore).
func (h *ttlHeap) init() {
	for i, d := range *h {
		d.pos = int32(i)
	}
	for i := len(*h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h ttlHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos = int32(i)
	h[j].pos = int32(j)
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
