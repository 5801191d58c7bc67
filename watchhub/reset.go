package watchhub

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

// Restore is Reset for a tree loaded from a snapshot at index n. Running, it
// is Reset. At start-up the events up to n are real ones this member no
// longer has (etcd would still hold the last of them in its snapshot): the
// history starts empty after n, and a watch asking at or below n gets 401,
// never a later event that would skip the ones it asked for.
func (h *Hub) Restore(n uint64) {
	if h.started {
		h.Reset(n)
		return
	}
	h.started = true
	h.hist.clear()
	h.index = n
	h.trimmed = true
	h.log.Info().Uint64("index", n).Bool("start", true).Msg("watch history starts after the snapshot")
}
