package watchhub

import "github.com/etcdv2/server/actors"

// DefaultHistorySize is how many events etcd keeps for watchers.
const DefaultHistorySize = 1000

// history is a ring of the last events, one per index with no gap, so the
// event of index i sits at a fixed offset from the oldest one. A slot may
// hold nil: an index the store took before the hub started (its bootstrap),
// which takes room like etcd's own bootstrap events but matches nothing.
type history struct {
	ring  []*actors.Event
	head  int    // slot of the oldest event
	n     int    // events held
	first uint64 // index of the oldest event, when n > 0
}

func newHistory(size int) history {
	if size <= 0 {
		size = DefaultHistorySize
	}
	return history{ring: make([]*actors.Event, size)}
}

// push appends e (nil for a bootstrap index) at index i, which must follow
// the newest one, and reports whether the oldest event made room for it.
func (h *history) push(i uint64, e *actors.Event) (dropped bool) {
	size := len(h.ring)
	if h.n == 0 {
		h.first = i
	}
	if h.n < size {
		h.ring[(h.head+h.n)%size] = e
		h.n++
		return false
	}
	h.ring[h.head] = e
	h.head = (h.head + 1) % size
	h.first++
	return true
}

// last is the newest index held (first-1 when empty).
func (h *history) last() uint64 { return h.first + uint64(h.n) - 1 }

// at returns the event of index i, which must be held (nil: bootstrap).
func (h *history) at(i uint64) *actors.Event {
	return h.ring[(h.head+int(i-h.first))%len(h.ring)]
}

// clear forgets every event, letting the GC have them.
func (h *history) clear() {
	clear(h.ring)
	h.head, h.n, h.first = 0, 0, 0
}
