package watchhub

import (
	"strconv"

	"github.com/etcdv2/server/actors"
	"github.com/rs/zerolog"
)

// Hub is the event history and every registered watcher, without the actor
// around them. It is not safe for concurrent use: the actor is its only
// caller. WatchEvents it sends may be shared by several watchers and must be
// treated as read-only.
type Hub struct {
	log  zerolog.Logger
	hist history
	// index is the store's index: the last event's, or the last Reset's.
	index uint64
	// raftIndex and raftTerm are the raft position the tree last reported,
	// shown in a watch response's X-Raft-Index and X-Raft-Term.
	raftIndex, raftTerm uint64
	// trimmed says the history no longer reaches back to the beginning, so a
	// watch asking below its oldest index gets etcd's 401. Until then indices
	// below the oldest event carry nothing a watcher could want (at start-up
	// they are the store's own bootstrap).
	trimmed bool
	// started is set by the first Reset or event: a Reset before it is the
	// member starting, later ones are snapshots replacing a running tree.
	started bool
	// noLeader: the member has had no leader for a while; watches end, and
	// new ones are refused (leader.go).
	noLeader bool

	byPath  map[string]*pathWatchers
	byID    map[uint64]*watcher
	lagging []*watcher
	// refilled counts deliveries to lagging streams, to tell a retry that
	// moved things along from one that found every sink still full.
	refilled int
}

// pathWatchers are the watchers registered at one path, split so that an
// event below the path visits only the recursive ones.
type pathWatchers struct {
	exact []*watcher
	rec   []*watcher
}

// watcher is one registered watch.
type watcher struct {
	id        uint64
	path      string
	recursive bool
	stream    bool
	// next is the lowest index the watcher may still be sent: every event it
	// wanted below next has been delivered.
	next      uint64
	etcdIndex uint64 // the store's index when it registered
	sink      actors.WatchSink

	pos        int  // slot in its path's list, while registered
	registered bool // in byPath
	lagging    bool // in Hub.lagging
	gone       bool // removed from the hub
	// ended marks a watcher whose ending error 401 waits for room in its
	// sink; the error is written when sent, so it tells the latest indexes.
	ended bool
	// abort, if set, is the error that ends it instead of 401 (the member
	// lost its leader).
	abort *actors.Error
}

// New makes an empty hub keeping the last historySize events (0: etcd's 1000).
func New(log zerolog.Logger, historySize int) *Hub {
	return &Hub{
		log:    log,
		hist:   newHistory(historySize),
		byPath: make(map[string]*pathWatchers),
		byID:   make(map[uint64]*watcher),
	}
}

// SetRaft records the raft position the tree reached.
func (h *Hub) SetRaft(index, term uint64) {
	if index > h.raftIndex {
		h.raftIndex, h.raftTerm = index, term
	}
}

// answer is the first delivery to a watch registering now: what the front
// needs for the response headers, around an event, an error, or nothing (an
// acknowledgment that the watch waits).
func (h *Hub) answer(ev *actors.Event, err *actors.Error) *actors.WatchEvent {
	return &actors.WatchEvent{Event: ev, Err: err, EtcdIndex: h.index, HistoryStart: h.HistoryStart(),
		RaftIndex: h.raftIndex, RaftTerm: h.raftTerm}
}

// Index is the store's current index as the hub knows it.
func (h *Hub) Index() uint64 { return h.index }

// HistoryStart is the oldest index the history can still answer.
func (h *Hub) HistoryStart() uint64 {
	if h.hist.n > 0 {
		return h.hist.first
	}
	return h.index + 1
}

// Count is the number of registered watchers, as /v2/stats/store reports it:
// streams and one-shots alike; a watch answered at once from the history is
// never counted.
func (h *Hub) Count() int { return len(h.byID) }

// Lagging is the number of streams waiting for room in their sinks.
func (h *Hub) Lagging() int { return len(h.lagging) }

// clearedError is etcd's answer to a watch below the history:
// cause "the requested history has been cleared [oldest/asked]".
func (h *Hub) clearedError(asked uint64) *actors.Error {
	b := make([]byte, 0, 64)
	b = append(b, "the requested history has been cleared ["...)
	b = strconv.AppendUint(b, h.HistoryStart(), 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, asked, 10)
	b = append(b, ']')
	return actors.NewError(actors.EcodeEventIndexCleared, string(b), h.index)
}

// trySend never blocks: a full sink is the caller's to handle.
func trySend(sink actors.WatchSink, we *actors.WatchEvent) bool {
	return sink.Deliver(we)
}

func (h *Hub) add(w *watcher) {
	h.byID[w.id] = w
	pw := h.byPath[w.path]
	if pw == nil {
		pw = &pathWatchers{}
		h.byPath[w.path] = pw
	}
	if w.recursive {
		w.pos = len(pw.rec)
		pw.rec = append(pw.rec, w)
	} else {
		w.pos = len(pw.exact)
		pw.exact = append(pw.exact, w)
	}
	w.registered = true
}

// unlink takes w out of its path's list, moving the list's last watcher
// into its slot.
func (h *Hub) unlink(w *watcher) {
	pw := h.byPath[w.path]
	list := &pw.exact
	if w.recursive {
		list = &pw.rec
	}
	s := *list
	last := len(s) - 1
	s[w.pos] = s[last]
	s[w.pos].pos = w.pos
	s[last] = nil
	*list = s[:last]
	if len(pw.exact)+len(pw.rec) == 0 {
		delete(h.byPath, w.path)
	}
	w.registered = false
}

// remove forgets w; a lagging entry for it is dropped on the next retry.
func (h *Hub) remove(w *watcher) {
	if w.gone {
		return
	}
	w.gone = true
	delete(h.byID, w.id)
	if w.registered {
		h.unlink(w)
	}
}

func (h *Hub) markLagging(w *watcher) {
	if !w.lagging {
		w.lagging = true
		h.lagging = append(h.lagging, w)
	}
}

// Unwatch removes the watcher with id; unknown ids are ignored (it may have
// been answered already).
func (h *Hub) Unwatch(id uint64) {
	if w := h.byID[id]; w != nil {
		h.remove(w)
	}
}

// end finishes w with error 401 for its next index (or with w.abort), now
// if its sink has room; if not, w is marked ended, the caller keeps it
// lagging, and the error goes out as soon as there is room. w receives no
// more events either way.
func (h *Hub) end(w *watcher) (sent bool) {
	if !w.ended {
		w.ended = true
		h.log.Debug().Uint64("watch", w.id).Str("path", w.path).Uint64("next", w.next).
			Uint64("start", h.HistoryStart()).Bool("abort", w.abort != nil).Msg("ending watcher")
	}
	if w.registered {
		h.unlink(w)
	}
	err := w.abort
	if err == nil {
		err = h.clearedError(w.next)
	}
	we := &actors.WatchEvent{Err: err, EtcdIndex: h.index, HistoryStart: h.HistoryStart()}
	if !trySend(w.sink, we) {
		return false
	}
	h.refilled++
	h.remove(w)
	return true
}
