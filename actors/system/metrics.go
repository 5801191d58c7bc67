package system

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront"
)

// newRegistry is one member's Prometheus registry, not the process-wide
// default: members sharing a process (tests, tools) keep their figures
// apart. Each actor registers its own metrics in it as it is built; what is
// the member's as a whole (who it is, which versions) and the Go runtime's
// and process's collectors are added here.
func newRegistry(id uint64) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := func(name, help, label, value string) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "etcd", Name: name, Help: help}, []string{label})
		g.WithLabelValues(value).Set(1)
		reg.MustRegister(g)
	}
	// etcd's names and help texts, as the reference serves them.
	info("server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
		"server_id", actors.HexID(id))
	info("server_version", "Which version is running. 1 for 'server_version' label with current version.",
		"server_version", httpfront.ServerVersion)
	info("server_go_version", "Which Go version server is running with. 1 for 'server_go_version' label with current version.",
		"server_go_version", runtime.Version())
	info("cluster_version", "Which version is running. 1 for 'cluster_version' label with current cluster version",
		"cluster_version", clusterMinor(httpfront.ClusterVersion))
	// This build has no learners: etcd's gauge, always 0.
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "etcd", Subsystem: "server", Name: "is_learner",
		Help: "Whether or not this member is a learner. 1 if is, 0 otherwise."}))
	return reg
}

// clusterMinor is major.minor of a version (etcd labels its cluster version
// so: "3.5").
func clusterMinor(v string) string {
	dots := 0
	for i := range len(v) {
		if v[i] == '.' {
			if dots++; dots == 2 {
				return v[:i]
			}
		}
	}
	return v
}
