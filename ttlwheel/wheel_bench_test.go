package ttlwheel

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

const million = 1 << 20

var (
	benchOnce  sync.Once
	benchPaths []string
	benchAts   []int64
)

// benchData makes a million distinct paths and deadlines spread over an hour.
func benchData() ([]string, []int64) {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		benchPaths = make([]string, million)
		benchAts = make([]int64, million)
		for i := range benchPaths {
			benchPaths[i] = fmt.Sprintf("/v2/keys/sessions/s%07d", i)
			benchAts[i] = t0 + 1 + rng.Int64N(int64(time.Hour))
		}
	})
	return benchPaths, benchAts
}

// BenchmarkHintAdd adds a million new paths to a fresh wheel, over and over:
// map and slice growth included.
func BenchmarkHintAdd(b *testing.B) {
	paths, ats := benchData()
	b.ReportAllocs()
	b.ResetTimer()
	var w *Wheel
	for i := 0; i < b.N; i++ {
		j := i & (million - 1)
		if j == 0 {
			w = NewWheel(DefaultResolution, DefaultSlots, t0)
		}
		w.Add(paths[j], ats[j])
	}
}

// BenchmarkHintReplace gives new deadlines to paths of a wheel holding a
// million: the steady state of a server refreshing TTL keys.
func BenchmarkHintReplace(b *testing.B) {
	paths, ats := benchData()
	w := NewWheel(DefaultResolution, DefaultSlots, t0)
	for j := range paths {
		w.Add(paths[j], ats[j])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i & (million - 1)
		w.Add(paths[j], ats[(j+i>>20+1)&(million-1)])
	}
}

// BenchmarkHintRemoveAdd is the tree's At=0 hint followed by a new key.
func BenchmarkHintRemoveAdd(b *testing.B) {
	paths, ats := benchData()
	w := NewWheel(DefaultResolution, DefaultSlots, t0)
	for j := range paths {
		w.Add(paths[j], ats[j])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i & (million - 1)
		w.Remove(paths[j])
		w.Add(paths[j], ats[j])
	}
}

// BenchmarkTick is one leader tick (Advance by one resolution and find the
// next wake) on a wheel holding a million deadlines over an hour.
func BenchmarkTick(b *testing.B) {
	paths, ats := benchData()
	w := NewWheel(DefaultResolution, DefaultSlots, t0)
	for j := range paths {
		w.Add(paths[j], ats[j])
	}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now += int64(DefaultResolution)
		w.Advance(now)
		w.NextWake()
	}
}

// BenchmarkMemoryPerDeadline fills a wheel with a million deadlines and
// reports the heap it holds per deadline (the paths themselves belong to the
// tree and are not counted).
func BenchmarkMemoryPerDeadline(b *testing.B) {
	paths, ats := benchData()
	var perDeadline float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		w := NewWheel(DefaultResolution, DefaultSlots, t0)
		for j := range paths {
			w.Add(paths[j], ats[j])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perDeadline = float64(after.HeapAlloc-before.HeapAlloc) / million
		runtime.KeepAlive(w)
	}
	b.ReportMetric(perDeadline, "B/deadline")
}
