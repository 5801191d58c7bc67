package system

import "testing"

// The trimmer trims once per burst, after it, and never while allocations
// go on or after a trickle.
func TestTrimmerTrimsOnceABurstIsOver(t *testing.T) {
	var total uint64
	tr := &trimmer{allocs: func() uint64 { return total }, trim: func() { total += 4096 }}
	tick := func(alloc uint64) { total += alloc; tr.step() }
	for range 20 {
		tick(10 << 20) // loading: 10 MiB a tick
	}
	if tr.trimCount != 0 {
		t.Fatalf("trimmed %d times under load", tr.trimCount)
	}
	tick(100 << 10) // the load stops
	if tr.trimCount != 1 {
		t.Fatalf("trimmed %d times once idle, want 1", tr.trimCount)
	}
	for range 100 {
		tick(100 << 10) // idle with a trickle of reads: 10 MiB over the ticks
	}
	if tr.trimCount != 1 {
		t.Fatalf("trimmed %d times while idle, want still 1", tr.trimCount)
	}
	tick(40 << 20)
	tick(0)
	if tr.trimCount != 2 {
		t.Fatalf("trimmed %d times after a second burst, want 2", tr.trimCount)
	}
}
