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
func BenchmarkProposeSingleMember(b *testing.B) {
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
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan *actors.Propose, 1)
		for pb.Next() {
			p := &actors.Propose{
				Cmd:  actors.Command{Op: actors.OpSet, Path: "/bench/" + strconv.FormatUint(seq.Add(1), 10), Value: "0123456789012345678901234567890123456789"},
				Done: done,
			}
			sys.Root.Send(m.raft, p)
			if got := <-done; got.Err != nil {
				b.Error(got.Err)
				return
			}
		}
	})
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
