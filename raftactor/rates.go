package raftactor

import (
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// rateWindow is how many appends the rates of /v2/stats/self are taken
// over, as etcd's stats queue.
const rateWindow = 200

// appendRates are etcd's recvPkgRate/recvBandwidthRate (or send...): the
// appends per second and bytes per second over the last rateWindow appends,
// zero once none came for a second.
type appendRates struct {
	at    [rateWindow]int64 // unix ns, a ring
	size  [rateWindow]int
	next  int
	n     int
	bytes int // the sizes in the ring
}

func (q *appendRates) add(now int64, size int) {
	if q.n == rateWindow {
		q.bytes -= q.size[q.next]
	} else {
		q.n++
	}
	q.at[q.next], q.size[q.next] = now, size
	q.bytes += size
	q.next = (q.next + 1) % rateWindow
}

func (q *appendRates) rates(now int64) (pkgs, bytes float64) {
	if q.n == 0 {
		return 0, 0
	}
	newest := q.at[(q.next+rateWindow-1)%rateWindow]
	oldest := q.at[(q.next+rateWindow-q.n)%rateWindow]
	if now-newest > int64(time.Second) {
		*q = appendRates{}
		return 0, 0
	}
	span := float64(newest-oldest) / float64(time.Second)
	if span <= 0 {
		return 0, 0
	}
	return float64(q.n) / span, float64(q.bytes) / span
}

// appendSize is about what an append takes on the wire, cheaply: its
// entries' payloads and a few bytes of framing each.
func appendSize(m *raftpb.Message) int {
	n := 32
	for _, e := range m.GetEntries() {
		n += len(e.GetData()) + 12
	}
	return n
}
