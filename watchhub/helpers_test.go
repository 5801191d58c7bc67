package watchhub

import (
	"testing"

	"github.com/etcdv2/server/actors"
	"github.com/rs/zerolog"
)

// set makes a "set" event of key at index.
func set(index uint64, key string) *actors.Event {
	return &actors.Event{
		Action: actors.ActionSet,
		Node:   &actors.Node{Key: key, Value: "v", ModifiedIndex: index, CreatedIndex: index},
		Index:  index,
	}
}

// refresh makes a refresh=true update of key at index.
func refresh(index uint64, key string) *actors.Event {
	e := set(index, key)
	e.Refresh = true
	return e
}

// rmdir makes the delete (or expire) of directory dir, removing paths.
func rmdir(index uint64, action, dir string, removed ...string) *actors.Event {
	return &actors.Event{
		Action:   action,
		Node:     &actors.Node{Key: dir, Dir: true, ModifiedIndex: index, CreatedIndex: 1},
		PrevNode: &actors.Node{Key: dir, Dir: true, ModifiedIndex: 1, CreatedIndex: 1},
		Index:    index,
		Removed:  removed,
	}
}

// rmfile makes the delete of file key.
func rmfile(index uint64, key string) *actors.Event {
	return &actors.Event{
		Action:   actors.ActionDelete,
		Node:     &actors.Node{Key: key, ModifiedIndex: index, CreatedIndex: 1},
		PrevNode: &actors.Node{Key: key, Value: "v", ModifiedIndex: 1, CreatedIndex: 1},
		Index:    index,
		Removed:  []string{key},
	}
}

// newTestHub is a hub started at index 3, like a fresh etcd.
func newTestHub(size int) *Hub {
	h := New(zerolog.Nop(), size)
	h.Reset(3)
	return h
}

// setsUpTo applies one set of key per index from the hub's index+1 to last.
func setsUpTo(h *Hub, last uint64, key string) {
	for i := h.Index() + 1; i <= last; i++ {
		h.Apply([]*actors.Event{set(i, key)})
	}
}

type watchOpt func(*actors.Watch)

func recursive(w *actors.Watch) { w.Recursive = true }
func stream(w *actors.Watch)    { w.Stream = true }
func since(i uint64) watchOpt   { return func(w *actors.Watch) { w.SinceIndex = i } }

// watch registers id at path with a sink of capacity c.
func watch(h *Hub, id uint64, path string, c int, opts ...watchOpt) chan *actors.WatchEvent {
	m := &actors.Watch{ID: id, Path: path}
	for _, o := range opts {
		o(m)
	}
	if !m.Stream {
		c++ // a one-shot needs room for the acknowledgment and its event
	}
	sink := make(chan *actors.WatchEvent, c)
	m.Sink = actors.ChanSink(sink)
	at := h.Index()
	h.Watch(m)
	// A watch is first acknowledged with the indexes its response headers
	// show (unless an error ends it at once); take the acknowledgment here so
	// each test reads only what follows.
	select {
	case we := <-sink:
		if we.Err != nil {
			sink <- we // the answer that ends the watch: leave it for the test
			break
		}
		if we.Event != nil || we.EtcdIndex != at || we.HistoryStart != h.HistoryStart() {
			panic("acknowledgment with wrong indexes")
		}
	default:
		panic("watch neither answered nor acknowledged")
	}
	return sink
}

// next takes the delivery waiting in sink; the hub delivers synchronously,
// so an empty sink means nothing was sent.
func next(t *testing.T, sink chan *actors.WatchEvent) *actors.WatchEvent {
	t.Helper()
	select {
	case we := <-sink:
		return we
	default:
		t.Fatalf("no delivery")
		return nil
	}
}

// wantEvent takes the next delivery and checks it is the event of index.
func wantEvent(t *testing.T, sink chan *actors.WatchEvent, index uint64) *actors.WatchEvent {
	t.Helper()
	we := next(t, sink)
	if we.Err != nil {
		t.Fatalf("want event %d, got error %v", index, we.Err)
	}
	if we.Event.Index != index {
		t.Fatalf("want event %d, got %d (%s %s)", index, we.Event.Index, we.Event.Action, we.Event.Node.Key)
	}
	return we
}

// wantCleared takes the next delivery and checks it is error 401 with cause.
func wantCleared(t *testing.T, sink chan *actors.WatchEvent, cause string, index uint64) {
	t.Helper()
	we := next(t, sink)
	if we.Err == nil {
		t.Fatalf("want 401, got event %d", we.Event.Index)
	}
	if we.Err.Code != actors.EcodeEventIndexCleared || we.Err.Cause != cause || we.Err.Index != index {
		t.Fatalf("want 401 %q index %d, got %d %q index %d", cause, index, we.Err.Code, we.Err.Cause, we.Err.Index)
	}
	if we.EtcdIndex != index {
		t.Fatalf("error EtcdIndex %d, want %d", we.EtcdIndex, index)
	}
}

func wantNone(t *testing.T, sink chan *actors.WatchEvent) {
	t.Helper()
	select {
	case we := <-sink:
		if we.Err != nil {
			t.Fatalf("want nothing, got error %v", we.Err)
		}
		t.Fatalf("want nothing, got event %d %s", we.Event.Index, we.Event.Node.Key)
	default:
	}
}

func wantCount(t *testing.T, h *Hub, n int) {
	t.Helper()
	if got := h.Count(); got != n {
		t.Fatalf("count %d, want %d", got, n)
	}
}
