package peers

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/etcdv2/server/actors/actortest"
)

// What one member sends a peer, in bytes, is what that peer counts as
// received from it, under etcd's To and From labels (ids in hex); a
// heartbeat's answer ends one round trip.
func TestMetricsCountBytesBothWaysAndHeartbeatRoundTrips(t *testing.T) {
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a := newNode(t, 0xa1, func(c *Config) { c.Metrics = regA })
	b := newNode(t, 0xb2, func(c *Config) { c.Metrics = regB })
	connect(t, a, b)
	warmUp(t, a, b) // a heartbeat each way: a's to b is not answered yet
	if n, _ := actortest.Metric(regA, "etcd_network_peer_round_trip_time_seconds", "To", "b2"); n != 0 {
		t.Fatalf("%v round trips before any answer", n)
	}
	a.tr.Send([]*raftpb.Message{msgApp(0xa1, 0xb2, 7)})
	b.recv(t, 5*time.Second)
	b.tr.Send([]*raftpb.Message{{Type: new(raftpb.MsgHeartbeatResp), From: new(uint64(0xb2)), To: new(uint64(0xa1))}})
	a.recv(t, 5*time.Second)

	sent, ok1 := actortest.Metric(regA, "etcd_network_peer_sent_bytes_total", "To", "b2")
	recv, ok2 := actortest.Metric(regB, "etcd_network_peer_received_bytes_total", "From", "a1")
	if !ok1 || !ok2 || sent == 0 || sent != recv {
		t.Fatalf("a sent %v bytes to b (%v), b received %v from a (%v)", sent, ok1, recv, ok2)
	}
	back, _ := actortest.Metric(regB, "etcd_network_peer_sent_bytes_total", "To", "a1")
	got, _ := actortest.Metric(regA, "etcd_network_peer_received_bytes_total", "From", "b2")
	if back == 0 || back != got {
		t.Fatalf("b sent %v bytes to a, a received %v from b", back, got)
	}
	if n, _ := actortest.Metric(regA, "etcd_network_peer_round_trip_time_seconds", "To", "b2"); n != 1 {
		t.Fatalf("%v round trips to b observed, want 1", n)
	}
	// b sent a no heartbeat of its own that a answered.
	if n, _ := actortest.Metric(regB, "etcd_network_peer_round_trip_time_seconds", "To", "a1"); n != 0 {
		t.Fatalf("%v round trips to a observed by b, want 0", n)
	}
}
