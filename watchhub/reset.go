package watchhub

import "github.com/etcdv2/server/actors"

// Reset says the tree now stands at index n, replaced by a snapshot (or, the
// first time, starting without one; Restore starts from one): the history
// is void.
//
// etcd keeps its watchers across a recovery and lets them silently miss
// whatever the snapshot skipped. Here a watcher still waiting for an index
// at or below n may have missed its event, so it is ended with error 401
// (cause [n+1/its index]), which clients already handle by re-reading and
// watching again; watchers waiting beyond n lose nothing and stay. After a
// Reset of a running member, a watch asking at or below n gets the same 401.
//
// The Reset that starts the member is different: the indices up to it are
// taken as the store's bootstrap, which no watcher wants. Like etcd's own
// bootstrap events (a fresh etcd is at index 3) they fill history slots
// that match nothing, so a fresh member answers waitIndex=1 with the first
// matching event, and the 401 boundary falls where etcd's does.
func (h *Hub) Reset(n uint64) {
	starting := !h.started
	h.started = true
	h.hist.clear()
	h.index = n
	h.trimmed = !starting
	h.log.Info().Uint64("index", n).Bool("start", starting).Int("watchers", len(h.byID)).Msg("watch history reset")
	if starting {
		size := uint64(len(h.hist.ring))
		from := uint64(1)
		if n > size {
			from = n - size + 1
			h.trimmed = true
		}
		for i := from; i <= n; i++ {
			h.hist.push(i, nil)
		}
		return
	}
	for _, w := range h.byID {
		if w.ended || w.next > n {
			continue
		}
		if !h.end(w) {
			h.markLagging(w)
		}
	}
}

// Restore is Reset for a tree loaded from a snapshot at index n, which kept
// its last events evs (oldest first, the newest at n): they are the history
// again, as etcd's is after it recovers from its snapshot, so a watch asking
// for one of them is answered. Below them (or with none kept) a watch gets
// 401, never a later event that would skip the ones it asked for. A running
// member first ends its watchers as Reset does.
func (h *Hub) Restore(n uint64, evs []*actors.Event) {
	if h.started {
		h.Reset(n)
	}
	h.started = true
	h.hist.clear()
	h.index = n
	h.trimmed = true
	if k := len(evs); k > 0 && evs[k-1].Index == n && evs[0].Index+uint64(k)-1 == n {
		if len(evs) > len(h.hist.ring) {
			evs = evs[len(evs)-len(h.hist.ring):]
		}
		for _, e := range evs {
			h.hist.push(e.Index, e)
		}
		h.trimmed = evs[0].Index > 1
	}
	h.log.Info().Uint64("index", n).Int("events", h.hist.n).Msg("watch history restored from the snapshot")
}
