package watchhub

import (
	"testing"

	"github.com/etcdv2/server/actors"
	"github.com/rs/zerolog"
)

// BenchmarkFanout10k: one event reaching 10,000 one-shot watchers on its
// key. Only the event's handling is timed; registering and draining are not.
func BenchmarkFanout10k(b *testing.B) {
	const n = 10000
	h := New(zerolog.Nop(), 0)
	h.Reset(3)
	sinks := make([]chan *actors.WatchEvent, n)
	for i := range sinks {
		sinks[i] = make(chan *actors.WatchEvent, 1)
	}
	msgs := make([]actors.Watch, n)
	idx := uint64(3)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := range msgs {
			msgs[i] = actors.Watch{ID: uint64(i + 1), Path: "/foo", Sink: actors.ChanSink(sinks[i])}
			h.Watch(&msgs[i])
		}
		idx++
		batch := []*actors.Event{set(idx, "/foo")}
		b.StartTimer()
		h.Apply(batch)
		b.StopTimer()
		for _, s := range sinks {
			if we := <-s; we.Event.Index != idx {
				b.Fatalf("got %d", we.Event.Index)
			}
		}
		if h.Count() != 0 {
			b.Fatalf("count %d", h.Count())
		}
		b.StartTimer()
	}
}

// BenchmarkFanout10kStreams: one event to 10,000 streams on its key.
func BenchmarkFanout10kStreams(b *testing.B) {
	const n = 10000
	h := New(zerolog.Nop(), 0)
	h.Reset(3)
	sinks := make([]chan *actors.WatchEvent, n)
	for i := range sinks {
		sinks[i] = make(chan *actors.WatchEvent, 1)
		h.Watch(&actors.Watch{ID: uint64(i + 1), Path: "/foo", Stream: true, Sink: actors.ChanSink(sinks[i])})
	}
	idx := uint64(3)
	b.ReportAllocs()
	for b.Loop() {
		idx++
		h.Apply([]*actors.Event{set(idx, "/foo")})
		b.StopTimer()
		for _, s := range sinks {
			<-s
		}
		b.StartTimer()
	}
}

// BenchmarkApplyDeepKey: one event on a deep key while 10,000 watchers
// wait on another path: the ancestor walk and the history push only.
func BenchmarkApplyDeepKey(b *testing.B) {
	h := New(zerolog.Nop(), 0)
	h.Reset(3)
	for i := range 10000 {
		h.Watch(&actors.Watch{ID: uint64(i + 1), Path: "/other", Recursive: i%2 == 0,
			Sink: make(actors.ChanSink, 1)})
	}
	batches := make([][]*actors.Event, 1024)
	next := len(batches)
	idx := uint64(3)
	b.ReportAllocs()
	for b.Loop() {
		if next == len(batches) {
			b.StopTimer()
			for i := range batches {
				idx++
				batches[i] = []*actors.Event{set(idx, "/a/b/c/d/e/f")}
			}
			next = 0
			b.StartTimer()
		}
		h.Apply(batches[next])
		next++
	}
}
