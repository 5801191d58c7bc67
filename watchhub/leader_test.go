package watchhub

import (
	"reflect"
	"testing"

	"github.com/etcdv2/server/actors"
)

// wantNoLeader takes the next delivery and checks it is error 300 "no
// leader" at index.
func wantNoLeader(t *testing.T, sink chan *actors.WatchEvent, index uint64) {
	t.Helper()
	we := next(t, sink)
	want := actors.NewError(actors.EcodeRaftInternal, "etcdserver: no leader", index)
	if we.Event != nil || !reflect.DeepEqual(we.Err, want) || we.EtcdIndex != index {
		t.Fatalf("want %+v at %d, got %+v (event %v, index %d)", want, index, we.Err, we.Event, we.EtcdIndex)
	}
}

// Losing the leader ends every watch (one-shot, recursive, stream, and a
// stream whose sink is full, once it has room) with error 300; while it
// lasts a new watch gets the error at once and is not registered; with a
// leader back watches work again.
func TestLostLeaderEndsEveryWatch(t *testing.T) {
	h := newTestHub(100)
	setsUpTo(h, 5, "/a")
	one := watch(h, 1, "/a", 1)
	rec := watch(h, 2, "/", 1, recursive)
	str := watch(h, 3, "/a", 4, stream)
	full := watch(h, 4, "/a", 1, stream)
	h.Apply([]*actors.Event{set(6, "/a")}) // full's sink holds it: no room left
	wantEvent(t, str, 6)
	wantEvent(t, one, 6)
	wantEvent(t, rec, 6)
	one = watch(h, 5, "/a", 1)
	rec = watch(h, 6, "/", 1, recursive)
	wantCount(t, h, 4)

	h.SetLeaderLost(true)
	wantNoLeader(t, one, 6)
	wantNoLeader(t, rec, 6)
	wantNoLeader(t, str, 6)
	if h.Lagging() != 1 {
		t.Fatalf("%d lagging, want the full stream", h.Lagging())
	}
	wantEvent(t, full, 6)
	h.Retry()
	wantNoLeader(t, full, 6)
	wantCount(t, h, 0)
	if h.Lagging() != 0 {
		t.Fatalf("%d still lagging", h.Lagging())
	}

	late := watch(h, 7, "/a", 1, since(2))
	wantNoLeader(t, late, 6)
	wantNone(t, late)
	wantCount(t, h, 0)

	h.SetLeaderLost(false)
	again := watch(h, 8, "/a", 1)
	h.Apply([]*actors.Event{set(7, "/a")})
	wantEvent(t, again, 7)
}

// A stream already ending with 401 (it fell off the history, its sink full)
// keeps that answer when the leader is lost.
func TestLostLeaderKeepsAPendingClear(t *testing.T) {
	h := newTestHub(4)
	setsUpTo(h, 4, "/a")
	s := watch(h, 1, "/a", 1, stream)
	setsUpTo(h, 10, "/a") // the first event fills the sink; the rest fall off the history
	wantEvent(t, s, 5)
	h.SetLeaderLost(true)
	h.Retry()
	wantCleared(t, s, "the requested history has been cleared [7/6]", 10)
	wantCount(t, h, 0)
}
