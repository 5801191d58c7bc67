package treeactor

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
)

// The store counts every read and write by action, failed ones included, as
// etcd's v2 store does; a create whose walk is blocked counts twice, as in
// etcd's internalCreate; each expired key counts once. A series shows only
// once its action happened, as in etcd.
func TestStoreMetricsCountByAction(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewStore()
	s.countInto(newMetrics(reg))
	for _, c := range []*actors.Command{
		set("/a", "1"), set("/a/b", "x"), // the second is blocked by the file /a
		create("/c", "1"), create("/c", "2"), // exists
		create("/a/x", "1"), // a blocked walk: counted twice
		post("/q", "1"),
		update("/a", "2"), update("/nokey", "x"),
		cas("/a", "3", "2", 0), cas("/a", "4", "nope", 0),
		cad("/a", "3", 0),
		ttl(set("/t1", "x"), time.Second), ttl(set("/t2", "x"), time.Second),
		del("/c"),
		expire(in(time.Minute)),
	} {
		s.Apply(c)
	}
	s.Find("/q", true)
	s.Find("/q", false)
	s.Find("/missing", false)
	want := map[string]float64{
		actors.ActionSet: 2 + 2, actors.ActionCreate: 2 + 2 + 1,
		actors.ActionUpdate: 2, actors.ActionCompareAndSwap: 2,
		actors.ActionCompareAndDelete: 1, actors.ActionDelete: 1,
	}
	for action, n := range want {
		if got, _ := actortest.Metric(reg, "etcd_debugging_store_writes_total", "action", action); got != n {
			t.Errorf("writes{action=%q} = %v, want %v", action, got, n)
		}
	}
	for action, n := range map[string]float64{"get": 2, "getRecursive": 1} {
		if got, _ := actortest.Metric(reg, "etcd_debugging_store_reads_total", "action", action); got != n {
			t.Errorf("reads{action=%q} = %v, want %v", action, got, n)
		}
	}
	if got, _ := actortest.Metric(reg, "etcd_debugging_store_expires_total"); got != 2 {
		t.Errorf("expires %v, want 2", got)
	}
	if _, ok := actortest.Metric(reg, "etcd_debugging_store_writes_total", "action", actors.ActionExpire); ok {
		t.Errorf("an expire sweep shows as a write; etcd counts it only in expires_total")
	}
}

// The tree actor counts into the member's registry, and goes on counting
// there after a snapshot replaced its store.
func TestTreeActorCountsIntoTheRegistryAcrossRestores(t *testing.T) {
	reg := prometheus.NewRegistry()
	sys := actortest.QuietSystem()
	defer sys.Shutdown()
	tree := sys.Root.Spawn(Props(Deps{Log: zerolog.Nop(), Metrics: reg}))
	defer func() { sys.Root.StopFuture(tree).Wait() }()
	readOnce := func() {
		rd := read("/a", false, false)
		rd.Done = make(chan *actors.Read, 1)
		sys.Root.Send(tree, rd)
		recv(t, rd.Done)
	}
	src := NewStore()
	src.Apply(set("/a", "1"))
	sys.Root.Send(tree, &actors.Restore{Index: 1, Term: 1})
	readOnce()
	sys.Root.Send(tree, &actors.Restore{Index: 5, Term: 2, Data: src.Snapshot()})
	w := waiter()
	sys.Root.Send(tree, &actors.Committed{Entries: []actors.Entry{{Index: 6, Term: 2, Cmd: set("/b", "2"), Waiter: w}}})
	recv(t, w.Done)
	readOnce()
	if got, _ := actortest.Metric(reg, "etcd_debugging_store_reads_total", "action", "get"); got != 2 {
		t.Fatalf("reads{get} = %v, want 2", got)
	}
	if got, _ := actortest.Metric(reg, "etcd_debugging_store_writes_total", "action", "set"); got != 1 {
		t.Fatalf("writes{set} = %v, want 1 (the snapshot's own writes are not this process's)", got)
	}
}
