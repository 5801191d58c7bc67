package raftactor

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/etcdv2/server/actors"
)

// BenchmarkProposeSingleMember is the whole write path of this actor: 32
// clients each proposing and waiting for the (fake) tree's answer, fsyncs
// included. ns/op is per write; txs/op shows the group commit at work.
func BenchmarkProposeSingleMember(b *testing.B) { benchPropose(b, 16) }

// BenchmarkProposeOneAtATime is one client's latency: a write, its fsync
// and its answer, then the next.
func BenchmarkProposeOneAtATime(b *testing.B) { benchPropose(b, 0) }

// benchPropose runs parallelism×GOMAXPROCS clients, or just one with 0.
func benchPropose(b *testing.B, parallelism int) {
	sys := newSystem(b)
	m := startMember(b, sys, Config{ID: 1, DataDir: b.TempDir()})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for range m.out {
		}
	}()
	m.status()
	before := m.log.Load().syncs.Load()
	var seq atomic.Uint64
	done := make(chan *actors.Propose, 1)
	write := func(done chan *actors.Propose) bool {
		p := &actors.Propose{
			Cmd:  actors.Command{Op: actors.OpSet, Path: "/bench/" + strconv.FormatUint(seq.Add(1), 10), Value: "0123456789012345678901234567890123456789"},
			Done: done,
		}
		sys.Root.Send(m.raft, p)
		if got := <-done; got.Err != nil {
			b.Error(got.Err)
			return false
		}
		return true
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallelism == 0 {
		for i := 0; i < b.N && write(done); i++ {
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			done := make(chan *actors.Propose, 1)
			for pb.Next() && write(done) {
			}
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(m.log.Load().syncs.Load()-before)/float64(b.N), "txs/op")
	if err := sys.Root.PoisonFuture(m.raft).Wait(); err != nil {
		b.Fatal(err)
	}
	if err := sys.Root.StopFuture(m.tree).Wait(); err != nil {
		b.Fatal(err)
	}
	close(m.out)
	<-drained
}
