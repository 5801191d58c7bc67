package watchhub

import "github.com/etcdv2/server/actors"

// Watch registers m, or answers it at once from the history: SinceIndex 0
// means the next event; an index the history has dropped is error 401; on
// a member without a leader every watch is error 300 (leader.go); the
// first matching event at or after SinceIndex, when held, is sent now. A
// one-shot answered that way is never registered. A stream goes on from the
// index after it, catching up through the history before it follows live
// events.
func (h *Hub) Watch(m *actors.Watch) {
	if old := h.byID[m.ID]; old != nil {
		h.log.Warn().Uint64("watch", m.ID).Msg("watch id registered twice; the older one is dropped")
		h.remove(old)
	}
	if h.noLeader {
		if !trySend(m.Sink, h.answer(nil, actors.NoLeaderError(h.index))) {
			h.log.Warn().Uint64("watch", m.ID).Msg("watch sink full at registration; answer dropped")
		}
		return
	}
	since := m.SinceIndex
	if since == 0 {
		since = h.index + 1
	}
	if h.trimmed && since < h.HistoryStart() {
		if !trySend(m.Sink, h.answer(nil, h.clearedError(since))) {
			h.log.Warn().Uint64("watch", m.ID).Msg("watch sink full at registration; answer dropped")
		}
		return
	}
	w := &watcher{
		id:        m.ID,
		path:      actors.CleanKey(m.Path),
		recursive: m.Recursive,
		stream:    m.Stream,
		next:      since,
		etcdIndex: h.index,
		sink:      m.Sink,
	}
	// Acknowledge before anything else, so the front can send its headers
	// with the indexes of this moment whatever follows.
	if !trySend(m.Sink, h.answer(nil, nil)) {
		h.log.Warn().Uint64("watch", m.ID).Msg("watch sink full at registration; watch dropped")
		return
	}
	if since <= h.index {
		e := h.scan(w.path, w.recursive, since)
		if e == nil {
			w.next = h.index + 1
		} else {
			sent := trySend(w.sink, h.answer(e, nil))
			if !w.stream {
				if !sent {
					h.log.Warn().Uint64("watch", m.ID).Msg("watch sink full at registration; answer dropped")
				}
				return
			}
			w.next = e.Index + 1
			if !sent {
				w.next = e.Index
			}
		}
	}
	h.add(w)
	if w.stream && w.next <= h.index && !h.refill(w) {
		h.markLagging(w)
	}
}

// scan is etcd's history lookup: the first event at or after since that the
// watch matches, refresh events skipped.
func (h *Hub) scan(path string, recursive bool, since uint64) *actors.Event {
	if h.hist.n == 0 {
		return nil
	}
	last := h.hist.last()
	for i := max(since, h.hist.first); i <= last; i++ {
		if e := h.hist.at(i); scanMatch(path, recursive, e) {
			return e
		}
	}
	return nil
}
