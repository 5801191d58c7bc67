package watchhub

import "github.com/etcdv2/server/actors"

// Apply records a batch of events, in index order, and notifies the
// watchers of each; then lagging streams get another chance.
func (h *Hub) Apply(list []*actors.Event) {
	for _, e := range list {
		h.apply(e)
	}
	if len(h.lagging) > 0 {
		h.Retry()
	}
}

func (h *Hub) apply(e *actors.Event) {
	if h.started && e.Index <= h.index {
		h.log.Error().Uint64("index", e.Index).Uint64("current", h.index).Msg("event index did not advance; ignored")
		return
	}
	if h.started && e.Index != h.index+1 {
		// The history must hold one event per index; after a hole nothing
		// below this event can be vouched for.
		h.log.Error().Uint64("index", e.Index).Uint64("current", h.index).Msg("hole in event indexes; history restarted")
		h.hist.clear()
		h.trimmed = true
	}
	h.started = true
	h.index = e.Index
	if h.hist.push(e.Index, e) {
		h.trimmed = true
	}
	if e.Refresh || e.Node == nil {
		return
	}
	f := fan{e: e, start: h.hist.first}
	key := e.Node.Key
	if key != "/" {
		h.notifyAt(&f, "/", false)
		for i := 1; i < len(key); i++ {
			if key[i] == '/' {
				h.notifyAt(&f, key[:i], false)
			}
		}
	}
	h.notifyAt(&f, key, true)
	for _, p := range e.Removed {
		if p != key {
			h.notifyAt(&f, p, true)
		}
	}
}

// fan is one event on its way to the watchers. Watchers registered at the
// same index receive the very same WatchEvent, so fanning out to thousands
// costs a handful of allocations.
type fan struct {
	e     *actors.Event
	start uint64
	we    *actors.WatchEvent
}

func (f *fan) eventFor(w *watcher) *actors.WatchEvent {
	if f.we == nil || f.we.EtcdIndex != w.etcdIndex {
		f.we = &actors.WatchEvent{Event: f.e, EtcdIndex: w.etcdIndex, HistoryStart: f.start}
	}
	return f.we
}

// notifyAt tells the watchers registered at p. whole means p is the event's
// own key or a path removed with it: every watcher there is concerned.
// Otherwise p is an ancestor, and only recursive watchers to whom the key is
// not hidden are.
func (h *Hub) notifyAt(f *fan, p string, whole bool) {
	pw := h.byPath[p]
	if pw == nil {
		return
	}
	if whole {
		pw.exact = h.notifyList(f, pw.exact)
		pw.rec = h.notifyList(f, pw.rec)
	} else if len(pw.rec) > 0 && !hiddenBelow(p, f.e.Node.Key) {
		pw.rec = h.notifyList(f, pw.rec)
	}
	if len(pw.exact)+len(pw.rec) == 0 {
		delete(h.byPath, p)
	}
}

// notifyList notifies every watcher of ws and returns those still registered.
func (h *Hub) notifyList(f *fan, ws []*watcher) []*watcher {
	n := 0
	for _, w := range ws {
		if h.notify(f, w) {
			ws[n] = w
			w.pos = n
			n++
		}
	}
	clear(ws[n:])
	return ws[:n]
}

// notify sends f's event to w and reports whether w stays registered.
func (h *Hub) notify(f *fan, w *watcher) bool {
	idx := f.e.Index
	if idx < w.next || w.lagging {
		// Not yet wanted, or the stream is behind: its refill from the
		// history reaches this event in order.
		return true
	}
	sent := trySend(w.sink, f.eventFor(w))
	if !w.stream {
		if !sent {
			h.log.Warn().Uint64("watch", w.id).Uint64("index", idx).Msg("one-shot watch sink full; watcher dropped")
		}
		w.gone = true
		w.registered = false
		delete(h.byID, w.id)
		return false
	}
	if sent {
		w.next = idx + 1
		return true
	}
	w.next = idx
	h.markLagging(w)
	return true
}
