package watchhub

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
	"github.com/rs/zerolog"
)

// guard bounds every wait in these tests; reaching it means a hang.
const guard = 20 * time.Second

type hubUnderTest struct {
	sys *actor.ActorSystem
	pid *actor.PID
}

func spawnHub(t *testing.T, historySize int) *hubUnderTest {
	t.Helper()
	return spawnHubWith(t, Deps{Log: zerolog.Nop(), HistorySize: historySize})
}

func spawnHubWith(t *testing.T, d Deps) *hubUnderTest {
	t.Helper()
	sys := actortest.QuietSystem()
	pid := sys.Root.Spawn(Props(d))
	t.Cleanup(func() {
		_ = sys.Root.StopFuture(pid).Wait()
		sys.Shutdown()
	})
	return &hubUnderTest{sys: sys, pid: pid}
}

func (u *hubUnderTest) send(m any) { u.sys.Root.Send(u.pid, m) }

func (u *hubUnderTest) sets(from, to uint64, key string) {
	for i := from; i <= to; i++ {
		u.send(&actors.Events{List: []*actors.Event{set(i, key)}})
	}
}

func (u *hubUnderTest) watch(id uint64, path string, c int, opts ...watchOpt) chan *actors.WatchEvent {
	m := &actors.Watch{ID: id, Path: path}
	for _, o := range opts {
		o(m)
	}
	if !m.Stream {
		c++ // a one-shot needs room for the acknowledgment and its event
	}
	sink := make(chan *actors.WatchEvent, c)
	m.Sink = actors.ChanSink(sink)
	u.send(m)
	// Every registration is answered at once, by an error that ends it or by
	// an acknowledgment, taken here so tests read what follows it.
	select {
	case we := <-sink:
		if we.Err != nil {
			sink <- we
		} else if we.Event != nil {
			panic("first delivery is an event, not the acknowledgment")
		}
	case <-time.After(guard):
		panic("watch neither answered nor acknowledged")
	}
	return sink
}

// count asks the hub; since the mailbox is FIFO per sender, the answer also
// proves everything this test sent before was handled.
func (u *hubUnderTest) count(t *testing.T) uint64 {
	t.Helper()
	ask := &actors.WatcherCountAsk{Done: make(chan *actors.WatcherCountAsk, 1)}
	u.send(ask)
	select {
	case a := <-ask.Done:
		return a.Count
	case <-time.After(guard):
		t.Fatal("no answer to WatcherCountAsk")
		return 0
	}
}

func recv(t *testing.T, sink chan *actors.WatchEvent) *actors.WatchEvent {
	t.Helper()
	select {
	case we := <-sink:
		return we
	case <-time.After(guard):
		t.Fatal("no delivery")
		return nil
	}
}

func TestActorWatchUnwatchCount(t *testing.T) {
	u := spawnHub(t, 0)
	u.send(&actors.Reset{EtcdIndex: 3})
	foo := u.watch(1, "/foo", 1)
	u.watch(2, "/bar", 1)
	st := u.watch(3, "/", 4, stream, recursive)
	if n := u.count(t); n != 3 {
		t.Fatalf("count %d, want 3", n)
	}
	u.send(&actors.Unwatch{ID: 2})
	u.sets(4, 4, "/foo")
	we := recv(t, foo)
	if we.Err != nil || we.Event.Index != 4 || we.EtcdIndex != 3 || we.HistoryStart != 1 {
		t.Fatalf("got %+v", we)
	}
	if we := recv(t, st); we.Event.Index != 4 {
		t.Fatalf("stream got %d", we.Event.Index)
	}
	if n := u.count(t); n != 1 {
		t.Fatalf("count %d, want 1 (the stream)", n)
	}
	// From the history, immediately, and not counted.
	old := u.watch(4, "/foo", 1, since(4))
	if we := recv(t, old); we.Event.Index != 4 || we.EtcdIndex != 4 {
		t.Fatalf("history answer %+v", we)
	}
	if n := u.count(t); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
}

func TestActorResetEndsSkippedWatchers(t *testing.T) {
	u := spawnHub(t, 0)
	u.send(&actors.Reset{EtcdIndex: 3})
	u.sets(4, 5, "/k")
	w := u.watch(1, "/k", 1)
	keep := u.watch(2, "/k", 1, since(25))
	u.send(&actors.Reset{EtcdIndex: 20})
	we := recv(t, w)
	if we.Err == nil || we.Err.Code != actors.EcodeEventIndexCleared ||
		we.Err.Cause != "the requested history has been cleared [21/6]" || we.Err.Index != 20 {
		t.Fatalf("got %+v", we)
	}
	if n := u.count(t); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
	u.sets(21, 25, "/k")
	if we := recv(t, keep); we.Event.Index != 25 {
		t.Fatalf("got %d", we.Event.Index)
	}
}

// TestActorSlowStreamIsLossless: a stream with room for 4 events and a slow
// reader gets all 500 in order; the last ones come through the retry timer,
// as no batch follows them.
func TestActorSlowStreamIsLossless(t *testing.T) {
	u := spawnHub(t, 0)
	u.send(&actors.Reset{EtcdIndex: 3})
	s := u.watch(1, "/", 4, stream, recursive)
	go func() {
		for i := uint64(4); i < 504; {
			n := uint64(1 + rand.IntN(5))
			batch := make([]*actors.Event, 0, n)
			for ; n > 0 && i < 504; n-- {
				batch = append(batch, set(i, "/k/"+strconv.FormatUint(i%3, 10)))
				i++
			}
			u.send(&actors.Events{List: batch})
		}
	}()
	for want := uint64(4); want < 504; want++ {
		we := recv(t, s)
		if we.Err != nil {
			t.Fatalf("error %v", we.Err)
		}
		if we.Event.Index != want {
			t.Fatalf("got %d, want %d", we.Event.Index, want)
		}
		if want%25 == 0 {
			time.Sleep(2 * time.Millisecond) // a slow reader
		}
	}
	if n := u.count(t); n != 1 {
		t.Fatalf("count %d", n)
	}
}

func TestActorStreamFallingOffHistoryGets401(t *testing.T) {
	u := spawnHub(t, 10)
	u.send(&actors.Reset{EtcdIndex: 3})
	s := u.watch(1, "/", 2, stream, recursive)
	u.sets(4, 33, "/k")
	if n := u.count(t); n != 1 {
		t.Fatalf("count %d, want 1 before the reader wakes", n)
	}
	for want := uint64(4); want <= 5; want++ {
		if we := recv(t, s); we.Err != nil || we.Event.Index != want {
			t.Fatalf("got %+v, want event %d", we, want)
		}
	}
	we := recv(t, s) // sent by the retry timer
	if we.Err == nil || we.Err.Code != actors.EcodeEventIndexCleared ||
		we.Err.Cause != "the requested history has been cleared [24/6]" || we.Err.Index != 33 || we.HistoryStart != 24 {
		t.Fatalf("got %+v %+v", we, we.Err)
	}
	if n := u.count(t); n != 0 {
		t.Fatalf("count %d, want 0", n)
	}
	u.sets(34, 34, "/k")
	u.count(t)
	if len(s) != 0 {
		t.Fatal("delivery after the ending error")
	}
}

// TestActorOrdering: while one goroutine sends 5000 single-event batches,
// 50 streams and 50 one-shots register at random waitIndexes around the
// writer's progress. Every stream must see each index from its start, once,
// in order; every one-shot exactly the first index it asked for.
func TestActorOrdering(t *testing.T) {
	const last = 5003 // events 4..5003, then 5004 once every watch is in
	u := spawnHub(t, 6000)
	u.send(&actors.Reset{EtcdIndex: 3})
	var progress atomic.Uint64
	progress.Store(3)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := uint64(4); i <= last; i++ {
			u.send(&actors.Events{List: []*actors.Event{set(i, "/k/"+strconv.FormatUint(i%7, 10))}})
			progress.Store(i)
			if i%64 == 0 {
				runtime.Gosched()
			}
		}
	}()

	type result struct {
		asked uint64
		got   []*actors.WatchEvent
		err   *actors.Error
	}
	results := make([]*result, 100)
	var readers sync.WaitGroup
	deadline := time.Now().Add(guard)
	for j := range 100 {
		target := 4 + uint64(j/2)*100
		for progress.Load() < target && time.Now().Before(deadline) {
			runtime.Gosched()
		}
		p := progress.Load()
		var asked uint64
		if rand.IntN(4) > 0 {
			lo := max(int64(p)-500, 1)
			asked = uint64(lo + rand.Int64N(int64(p)+500-lo))
			asked = min(asked, last)
		}
		r := &result{asked: asked}
		results[j] = r
		isStream := j%2 == 0
		opts := []watchOpt{recursive, since(asked)}
		if isStream {
			opts = append(opts, stream)
		}
		sink := u.watch(uint64(j+1), "/", 8, opts...)
		readers.Add(1)
		go func() {
			defer readers.Done()
			timeout := time.After(guard)
			for {
				select {
				case we := <-sink:
					if we.Err != nil {
						r.err = we.Err
						return
					}
					r.got = append(r.got, we)
					if !isStream || we.Event.Index == last+1 {
						return
					}
					if len(r.got)%200 == 0 {
						time.Sleep(time.Millisecond) // now and then a slow reader
					}
				case <-timeout:
					return
				}
			}
		}()
	}
	<-writerDone
	u.sets(last+1, last+1, "/k/end")
	readers.Wait()

	for j, r := range results {
		if r.err != nil {
			t.Fatalf("watch %d (asked %d): error %v", j, r.asked, r.err)
		}
		if len(r.got) == 0 {
			t.Fatalf("watch %d (asked %d): nothing delivered", j, r.asked)
		}
		first := r.got[0]
		start := r.asked
		if start == 0 {
			start = first.EtcdIndex + 1
		}
		if first.Event.Index != start {
			t.Fatalf("watch %d asked %d (registered at %d): first event %d, want %d",
				j, r.asked, first.EtcdIndex, first.Event.Index, start)
		}
		if j%2 == 1 {
			continue // one-shot: the one event checked above
		}
		for k, we := range r.got {
			if we.Event.Index != start+uint64(k) {
				t.Fatalf("stream %d: event %d is index %d, want %d", j, k, we.Event.Index, start+uint64(k))
			}
		}
		if got := r.got[len(r.got)-1].Event.Index; got != last+1 {
			t.Fatalf("stream %d ended at %d", j, got)
		}
	}
	if n := u.count(t); n != 50 {
		t.Fatalf("count %d, want the 50 streams", n)
	}
}
