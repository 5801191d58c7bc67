package watchhub

import (
	"time"

	"github.com/etcdv2/server/actors"
)

// RetryInterval is the longest the actor waits before retrying lagging
// streams when no new batch comes to retry them (see MinRetryInterval).
const RetryInterval = 50 * time.Millisecond

// Retry gives every lagging stream what its sink now has room for, in index
// order, and ends those whose next event the history no longer holds. It
// reports how many deliveries it made, so the actor can retry sooner while
// readers drain and back off while they do not.
func (h *Hub) Retry() (delivered int) {
	before := h.refilled
	n := 0
	for _, w := range h.lagging {
		if !w.gone && !h.refill(w) {
			h.lagging[n] = w
			n++
			continue
		}
		w.lagging = false
	}
	clear(h.lagging[n:])
	h.lagging = h.lagging[:n]
	return h.refilled - before
}

// refill sends w the events it wants from w.next on, from the history, until
// its sink is full. It reports whether w is settled: caught up with the
// store, or ended.
func (h *Hub) refill(w *watcher) bool {
	if w.ended || (h.trimmed && w.next < h.HistoryStart()) {
		return h.end(w)
	}
	if h.hist.n > 0 {
		last := h.hist.last()
		for i := max(w.next, h.hist.first); i <= last; i++ {
			e := h.hist.at(i)
			if !liveMatch(w, e) {
				continue
			}
			we := &actors.WatchEvent{Event: e, EtcdIndex: w.etcdIndex, HistoryStart: h.hist.first}
			if !trySend(w.sink, we) {
				w.next = i
				return false
			}
			h.refilled++
			w.next = i + 1
		}
	}
	if w.next <= h.index {
		w.next = h.index + 1
	}
	return true
}
