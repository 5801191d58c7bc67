package wal

import "testing"

// tally is a meter that keeps what it was given.
type tally struct {
	n   int
	sum float64
}

func (t *tally) Observe(v float64) { t.n++; t.sum += v }
func (t *tally) Add(v float64)     { t.n++; t.sum += v }

// Each Sync that writes reports one fdatasync and the bytes it wrote; a Sync
// with nothing staged reports nothing.
func TestSyncReportsToItsMeters(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpen(t, dir, 1<<16)
	defer w.Close()
	var fsyncs, written tally
	w.SetMeters(&fsyncs, &written)
	w.Append(hs(1, 1, 0), ents(1, 3, 1))
	staged := len(w.buf)
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if fsyncs.n != 1 || fsyncs.sum < 0 {
		t.Fatalf("fsyncs: %d observations (sum %v), want 1", fsyncs.n, fsyncs.sum)
	}
	if written.n != 1 || written.sum != float64(staged) {
		t.Fatalf("written: %d adds of %v bytes, want 1 of %d", written.n, written.sum, staged)
	}
}
