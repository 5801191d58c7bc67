package watchhub

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
)

// The watchers gauge follows the watchers the hub holds (a one-shot answered
// from the history never counts, a fired one stops counting); every watch
// request counts, however it was answered.
func TestMetricsFollowTheWatchers(t *testing.T) {
	reg := prometheus.NewRegistry()
	u := spawnHubWith(t, Deps{Log: zerolog.Nop(), Metrics: reg})
	gauge := func() float64 {
		u.count(t) // everything sent before is handled
		v, _ := actortest.Metric(reg, "etcd_debugging_store_watchers")
		return v
	}
	u.send(&actors.Reset{EtcdIndex: 3})
	foo := u.watch(1, "/foo", 1)
	u.watch(2, "/", 4, stream, recursive)
	if g := gauge(); g != 2 {
		t.Fatalf("watchers %v, want 2", g)
	}
	u.sets(4, 4, "/foo")
	recv(t, foo)
	if g := gauge(); g != 1 {
		t.Fatalf("watchers %v after the one-shot fired, want 1", g)
	}
	recv(t, u.watch(3, "/foo", 1, since(4))) // from the history
	if g := gauge(); g != 1 {
		t.Fatalf("watchers %v after a watch answered from the history, want 1", g)
	}
	u.send(&actors.Unwatch{ID: 2})
	if g := gauge(); g != 0 {
		t.Fatalf("watchers %v after the stream went, want 0", g)
	}
	if n, _ := actortest.Metric(reg, "etcd_debugging_store_watch_requests_total"); n != 3 {
		t.Fatalf("watch requests %v, want 3", n)
	}
}
