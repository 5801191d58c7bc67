package raftactor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// raftMetrics are etcd's etcd_server_* figures of consensus, under etcd's
// names, types and help texts. The raft actor alone sets them, from its own
// goroutine; a scrape reads them atomically.
type raftMetrics struct {
	hasLeader     prometheus.Gauge
	isLeader      prometheus.Gauge
	leaderChanges prometheus.Counter
	committed     prometheus.Gauge
	applied       prometheus.Gauge
	pending       prometheus.Gauge
	failed        prometheus.Counter
}

// diskMetrics are the log writer's: how long the WAL's fdatasync and
// raft.db's transactions take, and what the WAL wrote.
type diskMetrics struct {
	walFsync      prometheus.Histogram
	walBytes      prometheus.Gauge
	backendCommit prometheus.Histogram
}

func newRaftMetrics(reg prometheus.Registerer) *raftMetrics {
	m := &raftMetrics{
		hasLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd", Subsystem: "server", Name: "has_leader",
			Help: "Whether or not a leader exists. 1 is existence, 0 is not.",
		}),
		isLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd", Subsystem: "server", Name: "is_leader",
			Help: "Whether or not this member is a leader. 1 if is, 0 otherwise.",
		}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "server", Name: "leader_changes_seen_total",
			Help: "The number of leader changes seen.",
		}),
		// etcd's are gauges set to raft indexes, despite the _total.
		committed: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd", Subsystem: "server", Name: "proposals_committed_total",
			Help: "The total number of consensus proposals committed.",
		}),
		applied: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd", Subsystem: "server", Name: "proposals_applied_total",
			Help: "The total number of consensus proposals applied.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd", Subsystem: "server", Name: "proposals_pending",
			Help: "The current number of pending proposals to commit.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "server", Name: "proposals_failed_total",
			Help: "The total number of failed proposals seen.",
		}),
	}
	register(reg, m.hasLeader, m.isLeader, m.leaderChanges, m.committed, m.applied, m.pending, m.failed)
	return m
}

func newDiskMetrics(reg prometheus.Registerer) *diskMetrics {
	m := &diskMetrics{
		walFsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "etcd", Subsystem: "disk", Name: "wal_fsync_duration_seconds",
			Help: "The latency distributions of fsync called by WAL.",
			// 1 ms to 8.192 s, as etcd's.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		walBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd", Subsystem: "disk", Name: "wal_write_bytes_total",
			Help: "Total number of bytes written in WAL.",
		}),
		backendCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "etcd", Subsystem: "disk", Name: "backend_commit_duration_seconds",
			Help:    "The latency distributions of commit called by backend.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	register(reg, m.walFsync, m.walBytes, m.backendCommit)
	return m
}

// register adds cs to reg; a nil reg (a test, a tool) keeps them unexported.
func register(reg prometheus.Registerer, cs ...prometheus.Collector) {
	if reg == nil {
		return
	}
	for _, c := range cs {
		reg.MustRegister(c)
	}
}

func boolGauge(g prometheus.Gauge, v bool) {
	if v {
		g.Set(1)
	} else {
		g.Set(0)
	}
}

// observeSince records the seconds since start in h.
func observeSince(h prometheus.Observer, start time.Time) {
	h.Observe(time.Since(start).Seconds())
}
