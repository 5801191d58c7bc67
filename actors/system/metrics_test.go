package system

import (
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
)

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, err := (&fasthttp.Client{}).Get(nil, url)
	if err != nil || code != 200 {
		t.Fatalf("GET %s: %d %v", url, code, err)
	}
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s does not parse: %v", url, err)
	}
	return mfs
}

// Two members in one process each have a registry of their own, which every
// actor of the member counts into and both listeners serve, with the Go
// runtime's and the process's collectors and who the member is.
func TestEachMemberServesItsOwnRegistry(t *testing.T) {
	a, addrA := startMember(t, func(c *Config) { c.ListenMetricsURLs = []string{"http://127.0.0.1:0"} })
	b, addrB := startMember(t, func(c *Config) { c.Name = "other" })
	do(t, "PUT", "http://"+addrA+"/v2/keys/k", "value=1")
	do(t, "GET", "http://"+addrA+"/v2/keys/k", "")
	do(t, "GET", "http://"+addrB+"/v2/keys/k", "")

	for _, url := range []string{"http://" + addrA + "/metrics", "http://" + a.MetricsAddrs()[0] + "/metrics"} {
		mfs := scrape(t, url)
		for _, name := range []string{
			"etcd_server_has_leader", "etcd_server_is_leader", "etcd_server_leader_changes_seen_total",
			"etcd_server_proposals_committed_total", "etcd_server_proposals_applied_total",
			"etcd_server_proposals_pending", "etcd_server_proposals_failed_total",
			"etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds",
			"etcd_network_peer_sent_bytes_total", "etcd_network_peer_received_bytes_total", "etcd_network_peer_round_trip_time_seconds",
			"etcd_debugging_store_reads_total", "etcd_debugging_store_writes_total", "etcd_debugging_store_watchers",
			"etcd_debugging_store_watch_requests_total", "etcd_debugging_store_expires_total",
			"etcd_http_received_total", "etcd_http_successful_duration_seconds",
			"etcd_server_id", "etcd_server_version", "etcd_server_go_version", "etcd_cluster_version",
			"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_open_fds",
		} {
			if _, ok := mfs[name]; !ok && !strings.HasPrefix(name, "etcd_network_peer_") {
				t.Errorf("%s: no %s", url, name)
			}
		}
	}
	for _, c := range []struct {
		m    *Member
		name string
		lv   []string
		want float64
	}{
		{a, "etcd_server_id", []string{"server_id", actors.HexID(memberIDOf(t, a))}, 1},
		{a, "etcd_server_version", []string{"server_version", "3.5.35"}, 1},
		{a, "etcd_cluster_version", []string{"cluster_version", "3.5"}, 1},
		{a, "etcd_server_has_leader", nil, 1},
		{a, "etcd_server_is_learner", nil, 0},
		{a, "etcd_debugging_store_writes_total", []string{"action", "set"}, 1},
		{a, "etcd_http_received_total", []string{"method", "PUT"}, 1},
		{b, "etcd_server_id", []string{"server_id", actors.HexID(memberIDOf(t, b))}, 1},
		{b, "etcd_http_received_total", []string{"method", "GET"}, 1},
	} {
		if got, ok := actortest.Metric(c.m.Metrics(), c.name, c.lv...); !ok || got != c.want {
			t.Errorf("%s%v = %v (%v), want %v", c.name, c.lv, got, ok, c.want)
		}
	}
	// b saw none of a's requests.
	if _, ok := actortest.Metric(b.Metrics(), "etcd_debugging_store_writes_total", "action", "set"); ok {
		t.Errorf("member b counts a's write")
	}
	if _, ok := actortest.Metric(b.Metrics(), "etcd_http_received_total", "method", "PUT"); ok {
		t.Errorf("member b counts a's request")
	}
}

// memberIDOf reads the member's id from its own /v2/stats/self.
func memberIDOf(t *testing.T, m *Member) uint64 {
	t.Helper()
	code, body, err := (&fasthttp.Client{}).Get(nil, "http://"+m.ClientAddrs()[0]+"/v2/stats/self")
	if err != nil || code != 200 {
		t.Fatalf("stats/self: %d %v", code, err)
	}
	s := string(body)
	i := strings.Index(s, `"id":"`)
	if i < 0 {
		t.Fatalf("no id in %s", s)
	}
	s = s[i+6:]
	id, err := strconv.ParseUint(s[:strings.IndexByte(s, '"')], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
