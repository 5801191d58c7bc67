package treeactor

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/etcdv2/server/actors"
)

// storeMetrics are etcd's v2 store counters for Prometheus
// (etcd_debugging_store_*, as etcd's v2store/metrics.go defines them):
// reads and writes by action, each counted whether it succeeded or not, and
// keys expired. Unlike /v2/stats/store, which a snapshot carries, they count
// what this process applied. Only the tree's goroutine counts, so a series'
// child is looked up once, on its first use (when etcd shows it too), and
// kept.
type storeMetrics struct {
	reads   *prometheus.CounterVec
	writes  *prometheus.CounterVec
	expires prometheus.Counter
	readBy  [2]prometheus.Counter // get, getRecursive
	writeBy [len(writeActions)]prometheus.Counter
}

// The write actions, in the order of storeMetrics.writeBy.
const (
	wSet = iota
	wCreate
	wUpdate
	wCAS
	wDelete
	wCAD
)

var writeActions = [...]string{
	wSet: actors.ActionSet, wCreate: actors.ActionCreate, wUpdate: actors.ActionUpdate,
	wCAS: actors.ActionCompareAndSwap, wDelete: actors.ActionDelete, wCAD: actors.ActionCompareAndDelete,
}

var readActions = [2]string{"get", "getRecursive"}

// newMetrics makes the store counters, registered with reg (nil: nowhere).
func newMetrics(reg prometheus.Registerer) *storeMetrics {
	m := &storeMetrics{
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd_debugging", Subsystem: "store", Name: "reads_total",
			Help: "Total number of reads action by (get/getRecursive), local to this member.",
		}, []string{"action"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd_debugging", Subsystem: "store", Name: "writes_total",
			Help: "Total number of writes (e.g. set/compareAndDelete) seen by this member.",
		}, []string{"action"}),
		expires: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd_debugging", Subsystem: "store", Name: "expires_total",
			Help: "Total number of expired keys.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.reads, m.writes, m.expires)
	}
	return m
}

func (m *storeMetrics) read(recursive bool) {
	i := 0
	if recursive {
		i = 1
	}
	c := m.readBy[i]
	if c == nil {
		c = m.reads.WithLabelValues(readActions[i])
		m.readBy[i] = c
	}
	c.Inc()
}

func (m *storeMetrics) write(w int) {
	c := m.writeBy[w]
	if c == nil {
		c = m.writes.WithLabelValues(writeActions[w])
		m.writeBy[w] = c
	}
	c.Inc()
}

// writeOf is the write action named action (set or create: what etcd's
// internalCreate is called for).
func writeOf(action string) int {
	if action == actors.ActionCreate {
		return wCreate
	}
	return wSet
}
