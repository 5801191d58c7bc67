package watchhub

import (
	"testing"

	"github.com/etcdv2/server/actors"
	"github.com/rs/zerolog"
)

func TestNextEventWatch(t *testing.T) {
	h := newTestHub(0)
	sink := watch(h, 1, "/foo", 1)
	wantCount(t, h, 1)
	h.Apply([]*actors.Event{set(4, "/bar"), set(5, "/foo/x")})
	wantNone(t, sink)
	h.Apply([]*actors.Event{set(6, "/foo")})
	we := wantEvent(t, sink, 6)
	// The start-up Reset's indices 1..3 count as history, as etcd's
	// bootstrap events do.
	if we.EtcdIndex != 3 || we.HistoryStart != 1 {
		t.Fatalf("EtcdIndex %d HistoryStart %d, want 3 and 1", we.EtcdIndex, we.HistoryStart)
	}
	wantCount(t, h, 0)
	h.Apply([]*actors.Event{set(7, "/foo")})
	wantNone(t, sink)
}

func TestWaitIndexInHistoryIsImmediate(t *testing.T) {
	h := newTestHub(0)
	h.Apply([]*actors.Event{set(4, "/foo"), set(5, "/bar"), set(6, "/foo"), set(7, "/foo")})
	sink := watch(h, 1, "/foo", 1, since(5))
	we := wantEvent(t, sink, 6)
	if we.EtcdIndex != 7 {
		t.Fatalf("EtcdIndex %d, want the index at registration 7", we.EtcdIndex)
	}
	// Answered from the history: never registered, never counted (as etcd).
	wantCount(t, h, 0)
	h.Apply([]*actors.Event{set(8, "/foo")})
	wantNone(t, sink)

	// Asking below the oldest event before the history was ever trimmed is
	// not an error: the scan starts at the oldest event.
	sink = watch(h, 2, "/", 1, recursive, since(1))
	wantEvent(t, sink, 4)
}

func TestWaitIndexInTheFuture(t *testing.T) {
	h := newTestHub(0)
	h.Apply([]*actors.Event{set(4, "/foo")})
	sink := watch(h, 1, "/foo", 1, since(6))
	wantCount(t, h, 1)
	h.Apply([]*actors.Event{set(5, "/foo")})
	wantNone(t, sink)
	h.Apply([]*actors.Event{set(6, "/foo")})
	we := wantEvent(t, sink, 6)
	if we.EtcdIndex != 4 {
		t.Fatalf("EtcdIndex %d, want 4", we.EtcdIndex)
	}
	wantCount(t, h, 0)
}

func TestRecursive(t *testing.T) {
	h := newTestHub(0)
	rec := watch(h, 1, "/a", 1, recursive)
	flat := watch(h, 2, "/a", 1)
	root := watch(h, 3, "/", 1, recursive)
	sibling := watch(h, 4, "/ab", 1, recursive)
	h.Apply([]*actors.Event{set(4, "/a/b/c")})
	wantEvent(t, rec, 4)
	wantEvent(t, root, 4)
	wantNone(t, flat)
	wantNone(t, sibling)
	wantCount(t, h, 2)
	h.Apply([]*actors.Event{set(5, "/a")})
	wantEvent(t, flat, 5)
	wantNone(t, sibling)
	wantCount(t, h, 1)

	// From the history: recursive matches below the path, never a sibling
	// sharing its prefix.
	s := watch(h, 5, "/a/b", 1, recursive, since(4))
	wantEvent(t, s, 4)
	s = watch(h, 6, "/a/b/c/", 1, recursive, since(4)) // cleaned to /a/b/c
	wantEvent(t, s, 4)
	s = watch(h, 7, "/a/b/", 1, since(4)) // not recursive: /a/b itself only
	wantNone(t, s)
	wantCount(t, h, 2)
}

func TestHiddenKeys(t *testing.T) {
	h := newTestHub(0)
	parent := watch(h, 1, "/a", 1, recursive)
	root := watch(h, 2, "/", 1, recursive)
	hidden := watch(h, 3, "/a/_h", 1)
	inHiddenDir := watch(h, 4, "/a/_d", 1, recursive)
	h.Apply([]*actors.Event{set(4, "/a/_h")})
	wantNone(t, parent)
	wantNone(t, root)
	wantEvent(t, hidden, 4)
	h.Apply([]*actors.Event{set(5, "/a/_d/x")})
	wantNone(t, parent)
	wantNone(t, root)
	wantEvent(t, inHiddenDir, 5)
	// A hidden component above the watched path hides nothing.
	h.Apply([]*actors.Event{set(6, "/a/_d/x/y")})
	wantNone(t, inHiddenDir) // one-shot: already answered
	inHiddenDir = watch(h, 5, "/a/_d/x", 1, recursive)
	h.Apply([]*actors.Event{set(7, "/a/_d/x/y")})
	wantEvent(t, inHiddenDir, 7)
	h.Apply([]*actors.Event{set(8, "/a/b_/c_")}) // underscores not at a component start
	wantEvent(t, parent, 8)
	wantEvent(t, root, 8)

	// etcd's history scan does not filter hidden keys (checked against
	// the reference): a recursive watch on /a from index 4 gets /a/_h.
	s := watch(h, 6, "/a", 1, recursive, since(4))
	wantEvent(t, s, 4)
}

func TestDirectoryRemovalNotifiesRemovedPaths(t *testing.T) {
	for _, action := range []string{actors.ActionDelete, actors.ActionExpire} {
		t.Run(action, func(t *testing.T) {
			h := newTestHub(0)
			child := watch(h, 1, "/d/x", 1)
			hiddenChild := watch(h, 2, "/d/_h/y", 1)
			hiddenDir := watch(h, 3, "/d/_h", 1)
			dir := watch(h, 4, "/d", 1)
			absent := watch(h, 5, "/d/nonexist", 1)
			root := watch(h, 6, "/", 1, recursive)
			streamChild := watch(h, 7, "/d/x", 4, stream)
			streamDir := watch(h, 8, "/d", 4, stream, recursive)
			h.Apply([]*actors.Event{rmdir(4, action, "/d", "/d/x", "/d/_h/y", "/d/_h", "/d")})
			for _, s := range []chan *actors.WatchEvent{child, hiddenChild, hiddenDir, dir, root, streamChild, streamDir} {
				wantEvent(t, s, 4)
				wantNone(t, s) // once, even for streams (etcd sends streams on the key twice)
			}
			wantNone(t, absent)
			wantCount(t, h, 3) // absent and the two streams

			// etcd's scan: a removed directory's key prefixing the watched path
			// matches, whether or not the path existed (checked on the reference).
			for i, p := range []string{"/d/nonexist/deep", "/dx", "/d"} {
				s := watch(h, uint64(10+i), p, 1, since(4))
				wantEvent(t, s, 4)
			}
			s := watch(h, 20, "/e", 1, since(4))
			wantNone(t, s)
		})
	}
}

func TestFileDeleteStreamOnce(t *testing.T) {
	h := newTestHub(0)
	s := watch(h, 1, "/s/f", 4, stream)
	h.Apply([]*actors.Event{set(4, "/s/f"), rmfile(5, "/s/f")})
	wantEvent(t, s, 4)
	wantEvent(t, s, 5)
	wantNone(t, s)
}

func TestRefreshTakesASlotButNotifiesNobody(t *testing.T) {
	h := newTestHub(3)
	one := watch(h, 1, "/r", 1)
	st := watch(h, 2, "/", 4, stream, recursive)
	h.Apply([]*actors.Event{set(4, "/r"), refresh(5, "/r"), set(6, "/r")})
	wantEvent(t, one, 4)
	wantEvent(t, st, 4)
	wantEvent(t, st, 6)
	wantNone(t, st)
	// The history of 3 holds 4, 5 and 6: not yet trimmed.
	s := watch(h, 3, "/r", 1, since(5))
	wantEvent(t, s, 6) // the refresh at 5 is skipped
	h.Apply([]*actors.Event{refresh(7, "/r")})
	wantNone(t, st)
	// Now 5, 6, 7: the refresh took the slot of 4.
	s = watch(h, 4, "/r", 1, since(4))
	wantCleared(t, s, "the requested history has been cleared [5/4]", 7)
	s = watch(h, 5, "/r", 1, since(7))
	wantNone(t, s)
	wantCount(t, h, 2)
}

// TestClearedBoundary mirrors the reference: a fresh etcd at index 3, 1005
// writes (4..1008); the history then holds 9..1008.
func TestClearedBoundary(t *testing.T) {
	h := newTestHub(0)
	for i := uint64(4); i <= 1008; i++ {
		h.Apply([]*actors.Event{set(i, "/k")})
	}
	if h.HistoryStart() != 9 {
		t.Fatalf("history start %d, want 9", h.HistoryStart())
	}
	for _, w := range []uint64{1, 3, 4, 7, 8} {
		s := watch(h, w, "/k", 1, since(w))
		we := next(t, s)
		if we.Err == nil || we.Err.Cause != "the requested history has been cleared [9/"+itoa(w)+"]" ||
			we.Err.Index != 1008 || we.Err.Code != 401 || we.Err.Status() != 400 || we.HistoryStart != 9 {
			t.Fatalf("waitIndex %d: got %+v %+v", w, we, we.Err)
		}
		wantNone(t, s)
	}
	for _, w := range []uint64{9, 10, 13, 1008} {
		wantEvent(t, watch(h, w, "/k", 1, since(w)), w)
	}
	wantCount(t, h, 0)
}

// TestClearedBoundaryBeforeFull mirrors the reference too: 997 writes after
// the fresh index 3 leave index 1 answerable; the 998th pushes it out.
func TestClearedBoundaryBeforeFull(t *testing.T) {
	h := newTestHub(0)
	setsUpTo(h, 1000, "/k")
	wantEvent(t, watch(h, 1, "/", 1, recursive, since(1)), 4)
	setsUpTo(h, 1001, "/k")
	wantCleared(t, watch(h, 2, "/", 1, recursive, since(1)), "the requested history has been cleared [2/1]", 1001)
	wantEvent(t, watch(h, 3, "/", 1, recursive, since(2)), 4)
}

func itoa(i uint64) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestOneShotRemovedAfterDelivery(t *testing.T) {
	h := newTestHub(0)
	a := watch(h, 1, "/x", 1)
	b := watch(h, 2, "/x", 1)
	c := watch(h, 3, "/", 1, recursive)
	wantCount(t, h, 3)
	h.Apply([]*actors.Event{set(4, "/x"), set(5, "/x")})
	wantEvent(t, a, 4)
	wantEvent(t, b, 4)
	wantEvent(t, c, 4)
	wantNone(t, a)
	wantNone(t, b)
	wantNone(t, c)
	wantCount(t, h, 0)
	if len(h.byPath) != 0 {
		t.Fatalf("empty path lists kept: %d", len(h.byPath))
	}
}

func TestUnwatch(t *testing.T) {
	h := newTestHub(0)
	a := watch(h, 1, "/x", 1)
	b := watch(h, 2, "/x", 1)
	c := watch(h, 3, "/x", 4, stream)
	h.Unwatch(1)
	h.Unwatch(1)  // twice: no-op
	h.Unwatch(99) // unknown: no-op
	wantCount(t, h, 2)
	h.Apply([]*actors.Event{set(4, "/x")})
	wantNone(t, a)
	wantEvent(t, b, 4)
	wantEvent(t, c, 4)
	h.Unwatch(2) // already answered: no-op
	h.Unwatch(3)
	wantCount(t, h, 0)
	h.Apply([]*actors.Event{set(5, "/x")})
	wantNone(t, c)
	if len(h.byPath) != 0 {
		t.Fatalf("empty path lists kept: %d", len(h.byPath))
	}
}

func TestUnwatchKeepsOthersReachable(t *testing.T) {
	// Swap-removal moves the last watcher of a list: it must still be
	// found by id and notified.
	h := newTestHub(0)
	sinks := make([]chan *actors.WatchEvent, 5)
	for i := range sinks {
		sinks[i] = watch(h, uint64(i+1), "/x", 1)
	}
	h.Unwatch(2)
	h.Unwatch(5) // 5 moved into 2's slot; now remove it
	h.Unwatch(1)
	wantCount(t, h, 2)
	h.Apply([]*actors.Event{set(4, "/x")})
	for i, s := range sinks {
		if i == 2 || i == 3 {
			wantEvent(t, s, 4)
		} else {
			wantNone(t, s)
		}
	}
}

func TestCount(t *testing.T) {
	h := newTestHub(0)
	h.Apply([]*actors.Event{set(4, "/x")})
	watch(h, 1, "/x", 1)
	watch(h, 2, "/y", 1, stream)
	watch(h, 3, "/y", 1, recursive)
	watch(h, 4, "/x", 1, since(4)) // answered from history: not counted
	watch(h, 5, "/x", 1, stream, since(4))
	wantCount(t, h, 4)
	watch(h, 1, "/z", 1) // the same id again replaces the first
	wantCount(t, h, 4)
}

func TestDuplicateIDReplaces(t *testing.T) {
	h := newTestHub(0)
	old := watch(h, 1, "/x", 1)
	nw := watch(h, 1, "/y", 1)
	h.Apply([]*actors.Event{set(4, "/x"), set(5, "/y")})
	wantNone(t, old)
	wantEvent(t, nw, 5)
	wantCount(t, h, 0)
}

func TestStreamFromHistoryThenLive(t *testing.T) {
	h := newTestHub(0)
	h.Apply([]*actors.Event{set(4, "/a/x"), set(5, "/b"), set(6, "/a/y"), set(7, "/a/_h")})
	s := watch(h, 1, "/a", 16, stream, recursive, since(4))
	wantEvent(t, s, 4)
	wantEvent(t, s, 6) // the hidden 7 is not a live match, so not streamed
	wantNone(t, s)
	wantCount(t, h, 1)
	h.Apply([]*actors.Event{set(8, "/a/z"), set(9, "/b")})
	wantEvent(t, s, 8)
	wantNone(t, s)
}

func TestStreamSlowReaderIsLossless(t *testing.T) {
	h := newTestHub(1000)
	s := watch(h, 1, "/", 4, stream, recursive)
	var got []uint64
	drain := func(max int) {
		for range max {
			select {
			case we := <-s:
				if we.Err != nil {
					t.Fatalf("error %v", we.Err)
				}
				got = append(got, we.Event.Index)
			default:
				return
			}
		}
	}
	for i := uint64(4); i < 504; i++ {
		h.Apply([]*actors.Event{set(i, "/k")})
		if i%3 == 0 {
			drain(2) // slower than the writer: the sink fills and the stream lags
		}
	}
	if h.Lagging() != 1 {
		t.Fatalf("lagging %d, want 1", h.Lagging())
	}
	for range 1000 {
		drain(4)
		h.Retry()
		if h.Lagging() == 0 && len(s) == 0 {
			break
		}
	}
	if len(got) != 500 {
		t.Fatalf("got %d events, want 500", len(got))
	}
	for i, idx := range got {
		if idx != uint64(4+i) {
			t.Fatalf("event %d has index %d, want %d", i, idx, 4+i)
		}
	}
	wantCount(t, h, 1)
	// Caught up: live again.
	h.Apply([]*actors.Event{set(504, "/k")})
	wantEvent(t, s, 504)
}

func TestStreamFallingOffHistoryEnds(t *testing.T) {
	h := newTestHub(10)
	s := watch(h, 1, "/", 2, stream, recursive)
	for i := uint64(4); i <= 30; i++ {
		h.Apply([]*actors.Event{set(i, "/k")})
	}
	// Sink took 4 and 5; it needs 6, but the history holds 21..30. Its sink
	// is full, so the error waits for room.
	wantCount(t, h, 1)
	wantEvent(t, s, 4)
	wantEvent(t, s, 5)
	wantNone(t, s)
	h.Retry()
	wantCleared(t, s, "the requested history has been cleared [21/6]", 30)
	wantCount(t, h, 0)
	if h.Lagging() != 0 {
		t.Fatalf("lagging %d", h.Lagging())
	}
	h.Apply([]*actors.Event{set(31, "/k")})
	wantNone(t, s)
}

func TestStreamFallingOffWithRoomEndsAtOnce(t *testing.T) {
	h := newTestHub(5)
	s := watch(h, 1, "/", 3, stream, recursive)
	h.Apply([]*actors.Event{set(4, "/k"), set(5, "/k"), set(6, "/k"), set(7, "/k")})
	wantEvent(t, s, 4)
	wantEvent(t, s, 5)
	wantEvent(t, s, 6)
	// Needs 7, lagging; ten more events push 7 out.
	batch := make([]*actors.Event, 0, 10)
	for i := uint64(8); i <= 17; i++ {
		batch = append(batch, set(i, "/k"))
	}
	h.Apply(batch)
	wantCleared(t, s, "the requested history has been cleared [13/7]", 17)
	wantCount(t, h, 0)
}

func TestUnwatchLaggingStream(t *testing.T) {
	h := newTestHub(0)
	watch(h, 1, "/", 1, stream, recursive)
	h.Apply([]*actors.Event{set(4, "/k"), set(5, "/k")})
	if h.Lagging() != 1 {
		t.Fatalf("lagging %d", h.Lagging())
	}
	h.Unwatch(1)
	h.Retry()
	if h.Lagging() != 0 || h.Count() != 0 {
		t.Fatalf("lagging %d count %d", h.Lagging(), h.Count())
	}
}

func TestResetAtStartIsLenient(t *testing.T) {
	h := New(zerolog.Nop(), 0)
	h.Reset(3) // a fresh member: 1..3 are the store's bootstrap
	s := watch(h, 1, "/", 1, recursive, since(1))
	wantCount(t, h, 1)
	h.Apply([]*actors.Event{set(4, "/k")})
	wantEvent(t, s, 4)

	// Starting far beyond the history's size: the last 10 bootstrap indices
	// are held (matching nothing), those below are cleared.
	h = New(zerolog.Nop(), 10)
	h.Reset(100)
	wantCleared(t, watch(h, 1, "/k", 1, since(90)), "the requested history has been cleared [91/90]", 100)
	s = watch(h, 2, "/k", 1, since(91))
	wantCount(t, h, 1)
	h.Apply([]*actors.Event{set(101, "/k")})
	wantEvent(t, s, 101)
}

// A member restarting from a snapshot no longer has the events up to it:
// a watch asking for one is cleared, never answered with a later event.
func TestRestoreAtStartClearsWhatTheSnapshotHolds(t *testing.T) {
	h := New(zerolog.Nop(), 0)
	h.Restore(8, nil)
	wantCleared(t, watch(h, 1, "/k", 1, since(3)), "the requested history has been cleared [9/3]", 8)
	wantCleared(t, watch(h, 2, "/k", 1, since(8)), "the requested history has been cleared [9/8]", 8)
	s := watch(h, 3, "/k", 1, since(9))
	wantCount(t, h, 1)
	h.Apply([]*actors.Event{set(9, "/k"), set(10, "/k")})
	wantEvent(t, s, 9)
	if got := h.HistoryStart(); got != 9 {
		t.Fatalf("history start %d, want 9", got)
	}
	// Running, a restore is a Reset.
	h.Restore(20, nil)
	wantCleared(t, watch(h, 4, "/k", 1, since(10)), "the requested history has been cleared [21/10]", 20)
}

// With the events the snapshot kept, the history is as etcd's after it
// recovers: a watch on one of them is answered, one below them is cleared.
func TestRestoreAtStartGivesTheSnapshotsEventsBack(t *testing.T) {
	h := New(zerolog.Nop(), 0)
	h.Restore(8, []*actors.Event{set(6, "/k"), set(7, "/x"), set(8, "/k")})
	wantCleared(t, watch(h, 1, "/k", 1, since(5)), "the requested history has been cleared [6/5]", 8)
	wantEvent(t, watch(h, 2, "/k", 1, since(6)), 6)
	wantEvent(t, watch(h, 3, "/k", 1, since(7)), 8)
	s := watch(h, 4, "/k", 1, since(9))
	h.Apply([]*actors.Event{set(9, "/k")})
	wantEvent(t, s, 9)
	if got := h.HistoryStart(); got != 6 {
		t.Fatalf("history start %d, want 6", got)
	}
	// Kept from the store's very first event: nothing below is cleared.
	h = New(zerolog.Nop(), 0)
	h.Restore(2, []*actors.Event{set(1, "/k"), set(2, "/k")})
	wantEvent(t, watch(h, 1, "/k", 1, since(1)), 1)
}

func TestResetClearsWhatItSkipped(t *testing.T) {
	h := newTestHub(0)
	h.Apply([]*actors.Event{set(4, "/k"), set(5, "/k")})
	oneShot := watch(h, 1, "/k", 1)              // waits for 6
	future := watch(h, 2, "/k", 1, since(30))    // waits beyond the snapshot
	st := watch(h, 3, "/", 4, stream, recursive) // waits for 6
	futureStream := watch(h, 4, "/k", 4, stream, since(21))
	lag := watch(h, 5, "/", 1, stream, recursive)
	h.Apply([]*actors.Event{set(6, "/x"), set(7, "/x")}) // lag takes 6, then lags on 7
	wantEvent(t, st, 6)
	wantEvent(t, st, 7)
	wantCount(t, h, 5)

	h.Reset(20)
	wantCleared(t, oneShot, "the requested history has been cleared [21/6]", 20)
	wantCleared(t, st, "the requested history has been cleared [21/8]", 20)
	wantNone(t, future)
	wantNone(t, futureStream)
	// lag's sink is full: its error goes out once the reader makes room.
	wantCount(t, h, 3)
	h.Retry()
	wantEvent(t, lag, 6)
	wantNone(t, lag)
	h.Retry()
	wantCleared(t, lag, "the requested history has been cleared [21/7]", 20)
	wantCount(t, h, 2)

	// A running member's Reset voids everything at or below it.
	wantCleared(t, watch(h, 6, "/k", 1, since(15)), "the requested history has been cleared [21/15]", 20)
	wantCleared(t, watch(h, 7, "/k", 1, since(20)), "the requested history has been cleared [21/20]", 20)
	later := watch(h, 8, "/k", 1)
	wantCount(t, h, 3)
	h.Apply([]*actors.Event{set(21, "/k")})
	wantEvent(t, later, 21)
	wantEvent(t, futureStream, 21)
	wantNone(t, future)
	if h.HistoryStart() != 21 {
		t.Fatalf("history start %d, want 21", h.HistoryStart())
	}
}

func TestHoleInIndexesClearsBelowIt(t *testing.T) {
	h := newTestHub(0)
	h.Apply([]*actors.Event{set(4, "/k")})
	h.Apply([]*actors.Event{set(4, "/k")}) // not advancing: ignored
	if h.Index() != 4 {
		t.Fatalf("index %d", h.Index())
	}
	h.Apply([]*actors.Event{set(8, "/k")})
	wantCleared(t, watch(h, 1, "/k", 1, since(5)), "the requested history has been cleared [8/5]", 8)
	wantEvent(t, watch(h, 2, "/k", 1, since(8)), 8)
}
