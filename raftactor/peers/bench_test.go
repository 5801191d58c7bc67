package peers

import (
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// benchPair is two transports where member 2 answers every MsgApp from 1
// with a MsgAppResp, as a follower would, and 1 counts the answers.
func benchPair(b *testing.B) (*node, chan struct{}) {
	answers := make(chan struct{}, 1<<16)
	a := newNode(b, 1, func(c *Config) {
		c.Deliver = func(*raftpb.Message) { answers <- struct{}{} }
	})
	var follower *node
	follower = newNode(b, 2, func(c *Config) {
		c.Deliver = func(m *raftpb.Message) {
			idx := m.GetEntries()[0].GetIndex()
			follower.tr.Send([]*raftpb.Message{{
				Type: new(raftpb.MsgAppResp), From: new(uint64(2)), To: new(uint64(1)),
				Term: m.Term, Index: new(idx),
			}})
		}
	})
	connect(b, a, follower)
	// Both streams up before timing: one full round trip.
	a.tr.Send([]*raftpb.Message{msgApp(1, 2, 1)})
	select {
	case <-answers:
	case <-time.After(5 * time.Second):
		b.Fatal("no round trip")
	}
	return a, answers
}

// Messages/s with many in flight: the stream batches under load.
func BenchmarkRoundTripWindow(b *testing.B) {
	const window = 256
	a, answers := benchPair(b)
	m := msgApp(1, 2, 2) // resending one message: the transport does not modify it
	batch := []*raftpb.Message{m}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	inflight := 0
	for i := 0; i < b.N; i++ {
		if inflight == window {
			<-answers
			inflight--
		}
		a.tr.Send(batch)
		inflight++
	}
	for ; inflight > 0; inflight-- {
		<-answers
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// Latency of one message at a time: a lone message leaves at once.
func BenchmarkRoundTripOne(b *testing.B) {
	a, answers := benchPair(b)
	batch := []*raftpb.Message{msgApp(1, 2, 2)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.tr.Send(batch)
		<-answers
	}
}
