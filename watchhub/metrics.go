package watchhub

import "github.com/prometheus/client_golang/prometheus"

// metrics are etcd's v2 store watch figures (etcd_debugging_store_*), which
// etcd's watcher hub keeps; here the hub actor sets them as it handles its
// messages.
type metrics struct {
	requests prometheus.Counter
	watchers prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd_debugging", Subsystem: "store", Name: "watch_requests_total",
			Help: "Total number of incoming watch requests (new or reestablished).",
		}),
		watchers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "etcd_debugging", Subsystem: "store", Name: "watchers",
			Help: "Count of currently active watchers.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.watchers)
	}
	return m
}
