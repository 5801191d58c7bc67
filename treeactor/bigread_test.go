package treeactor

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// BenchmarkWriteDuringBigReads is the case of four clients looping
// GET ?recursive=true&sorted=true on a directory of 100k keys while another
// writes one key and reads it back: each op is one such write and read,
// through the actor, and its latency is reported as p50-ms and p99-ms. The
// listings are rendered on the readers' goroutines from their views, so the
// write waits for the tree's turn at the CPU, not for the listings.
func BenchmarkWriteDuringBigReads(b *testing.B) {
	// The stand-ins' channels are drained until the rig has stopped them
	// (cleanups run last registered first).
	drained := make(chan struct{})
	b.Cleanup(func() { close(drained) })
	r := newRig(b)
	for _, ch := range []chan any{r.hub, r.wheel, r.raft} {
		go func() {
			for {
				select {
				case <-ch:
				case <-drained:
					return
				}
			}
		}()
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	index := uint64(0)
	commit := func(c *actors.Command) *actors.Propose {
		index++
		w := waiter()
		r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: index, Term: 1, Cmd: c, Waiter: w}}})
		return w
	}
	const keys = 100000
	for i := range keys {
		w := commit(set("/big/k"+strconv.Itoa(i), "a value of about the size the benchmark uses, 64 bytes long....."))
		if i == keys-1 {
			if p := recv(b, w.Done); p.Err != nil {
				b.Fatal(p.Err)
			}
		}
	}
	listed := make(chan int, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := &actors.Read{Path: "/big", Recursive: true, Sorted: true, Now: now, Done: make(chan *actors.Read, 1)}
			for n := 0; ; n++ {
				select {
				case <-quit:
					listed <- n
					return
				default:
				}
				rd.View, rd.Err = nil, nil
				r.sys.Root.Send(r.tree, rd)
				if got := <-rd.Done; got.Err != nil || len(got.Render()) < keys*64 {
					b.Errorf("big listing: %v, %d bytes", got.Err, len(got.Body))
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // the listings are under way
	rd := &actors.Read{Path: "/small", Now: now, Done: make(chan *actors.Read, 1)}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		v := strconv.Itoa(i)
		if p := recv(b, commit(set("/small", v)).Done); p.Err != nil {
			b.Fatal(p.Err)
		}
		rd.View, rd.Err = nil, nil
		r.sys.Root.Send(r.tree, rd)
		if got := recv(b, rd.Done); got.Err != nil || !bytes.Contains(got.Render(), []byte(`"value":"`+v+`"`)) {
			b.Fatalf("read back %q: %v", got.Body, got.Err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	close(quit)
	wg.Wait()
	total := 0
	for range 4 {
		total += <-listed
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(total), "listings")
}
