package system

import (
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rs/zerolog"
)

// Go returns freed heap pages to the OS only slowly, and not at all below
// its scavenger's target, which a collection in the middle of a bulk load
// (snapshot buffers live) may have set at three times the live heap: a
// member that loaded 300k keys and went idle kept 950 bytes of RSS per key
// for about 300 of live data. The trimmer waits for the allocations to stop
// after a burst and then gives the free pages back at once, with a full
// collection on its own goroutine; under load it does nothing.
const (
	trimTick  = 500 * time.Millisecond
	trimQuiet = 1 << 20  // at most this allocated during a tick is idle
	trimBurst = 32 << 20 // at least this allocated since the last trim is worth one
)

type trimmer struct {
	allocs    func() uint64 // bytes allocated so far, ever
	trim      func()
	lastTick  uint64
	lastTrim  uint64
	trimCount int
}

// step looks at one tick's allocations and trims if the burst is over.
func (t *trimmer) step() {
	now := t.allocs()
	quiet := now-t.lastTick <= trimQuiet
	t.lastTick = now
	if quiet && now-t.lastTrim >= trimBurst {
		t.trim()
		t.trimCount++
		t.lastTrim = t.allocs()
		t.lastTick = t.lastTrim
	}
}

func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// startTrimmer runs the trimmer until stop is closed.
func startTrimmer(log zerolog.Logger, stop <-chan struct{}) {
	t := &trimmer{allocs: heapAllocs, trim: func() {
		start := time.Now()
		debug.FreeOSMemory()
		log.Debug().Dur("took", time.Since(start)).Msg("idle: free heap returned to the OS")
	}}
	// What the start allocated (a restored tree) counts as a burst.
	t.lastTick = t.allocs()
	go func() {
		tick := time.NewTicker(trimTick)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				t.step()
			case <-stop:
				return
			}
		}
	}()
}
