package peers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are etcd's etcd_network_peer_* figures, labelled as etcd's
// rafthttp labels them: To and From are member ids in hex. A peer's series
// are resolved once, when it is added (and a sender's when its stream
// comes up), so a message costs one atomic add.
type metrics struct {
	sent     *prometheus.CounterVec
	received *prometheus.CounterVec
	rtt      *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_sent_bytes_total",
			Help: "The total number of bytes sent to peers.",
		}, []string{"To"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_received_bytes_total",
			Help: "The total number of bytes received from peers.",
		}, []string{"From"}),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "etcd", Subsystem: "network", Name: "peer_round_trip_time_seconds",
			Help: "Round-Trip-Time histogram between peers",
			// 0.1 ms to 3.2768 s, as etcd's.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"To"}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.received, m.rtt)
	}
	return m
}

// heartbeatSent starts a round trip to the peer unless one is already
// running: the time is measured from the oldest heartbeat not yet answered.
func (p *peer) heartbeatSent() {
	p.heartbeatAt.CompareAndSwap(0, p.t.sinceEpoch())
}

// heartbeatAnswered ends the running round trip, if any. etcd probes its
// peers for this figure; here the leader's heartbeats, which every follower
// answers at once (no disk write in between), are the probes.
func (p *peer) heartbeatAnswered() {
	if at := p.heartbeatAt.Swap(0); at != 0 {
		p.rtt.Observe(time.Duration(p.t.sinceEpoch() - at).Seconds())
	}
}
