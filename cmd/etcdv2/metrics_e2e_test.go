package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrapeMetrics reads url (a /metrics) and parses it with Prometheus' text
// parser, which fails on anything a Prometheus server would refuse.
func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := statsClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s does not parse: %v", url, err)
	}
	return mfs
}

// metricValue is name{labels} in mfs (label name, value, ...): a counter's
// or gauge's value, a histogram's count; -1 when there is no such series.
func metricValue(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	for _, m := range mfs[name].GetMetric() {
		match := len(m.GetLabel()) == len(labels)/2
		for i := 0; match && i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
			}
			match = found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func (m *member) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	return scrapeMetrics(t, m.url+"/metrics")
}

// A three-member cluster's /metrics move as it works: a write moves every
// member's proposal indexes and store writes, and the http counters of the
// member it was sent to; a read moves that member's store reads; a watch
// the watcher gauge; the leader's peer bytes and round trips name its
// followers by hex id; killing the leader moves the others' leader changes.
func TestClusterMetricsMoveAsItWorks(t *testing.T) {
	ms := startCluster(t, 3)
	leader := waitLeader(t, ms, 10*time.Second)
	ids := map[*member]string{}
	for _, m := range ms {
		s, err := selfOf(m.url)
		if err != nil {
			t.Fatal(err)
		}
		ids[m] = s.ID
	}
	var follower *member
	for _, m := range ms {
		mfs := m.metrics(t)
		isLeader := 0.0
		if m == leader {
			isLeader = 1
		} else {
			follower = m
		}
		if v := metricValue(mfs, "etcd_server_is_leader"); v != isLeader {
			t.Fatalf("%s: is_leader %v, want %v", m.name, v, isLeader)
		}
		if v := metricValue(mfs, "etcd_server_has_leader"); v != 1 {
			t.Fatalf("%s: has_leader %v", m.name, v)
		}
		if v := metricValue(mfs, "etcd_server_leader_changes_seen_total"); v < 1 {
			t.Fatalf("%s: leader changes %v, want at least 1", m.name, v)
		}
		if v := metricValue(mfs, "etcd_server_id", "server_id", ids[m]); v != 1 {
			t.Fatalf("%s: etcd_server_id{server_id=%q} %v", m.name, ids[m], v)
		}
	}

	// A write on a follower.
	before := map[*member]map[string]*dto.MetricFamily{}
	for _, m := range ms {
		before[m] = m.metrics(t)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if code, _, err := put(c, follower.url, "/m", "1", nil); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	sets := func(mfs map[string]*dto.MetricFamily) float64 {
		return max(metricValue(mfs, "etcd_debugging_store_writes_total", "action", "set"), 0)
	}
	for _, m := range ms {
		waitFor(t, 5*time.Second, m.name+" applies the write", func() bool { return sets(m.metrics(t)) == sets(before[m])+1 })
		mfs := m.metrics(t)
		for _, name := range []string{"etcd_server_proposals_committed_total", "etcd_server_proposals_applied_total", "etcd_disk_wal_fsync_duration_seconds"} {
			if metricValue(mfs, name) <= metricValue(before[m], name) {
				t.Fatalf("%s: %s did not move with a write: %v then %v", m.name, name, metricValue(before[m], name), metricValue(mfs, name))
			}
		}
		if v := metricValue(mfs, "etcd_server_proposals_pending"); v != 0 {
			t.Fatalf("%s: %v proposals pending after the write", m.name, v)
		}
	}
	fm := follower.metrics(t)
	if got, was := metricValue(fm, "etcd_http_received_total", "method", "PUT"), metricValue(before[follower], "etcd_http_received_total", "method", "PUT"); got != max(was, 0)+1 {
		t.Fatalf("follower's http received{PUT}: %v then %v", was, got)
	}
	if metricValue(fm, "etcd_http_successful_duration_seconds", "method", "PUT") < 1 {
		t.Fatalf("follower's PUT was not timed")
	}
	if v := metricValue(leader.metrics(t), "etcd_http_received_total", "method", "PUT"); v > 0 {
		t.Fatalf("the leader counts the follower's request: %v", v)
	}

	// A read, local to the member asked.
	reads := func(m *member) float64 {
		return max(metricValue(m.metrics(t), "etcd_debugging_store_reads_total", "action", "get"), 0)
	}
	r0, l0 := reads(follower), reads(leader)
	if code, _ := get(t, follower.url, "/m"); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if r1, l1 := reads(follower), reads(leader); r1 != r0+1 || l1 != l0 {
		t.Fatalf("a get on the follower: its reads %v then %v, the leader's %v then %v", r0, r1, l0, l1)
	}

	// A watch, held until the next write.
	watchers := func() float64 { return metricValue(follower.metrics(t), "etcd_debugging_store_watchers") }
	if w := watchers(); w != 0 {
		t.Fatalf("%v watchers before any watch", w)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := c.Get(follower.url + "/v2/keys/m?wait=true")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, 5*time.Second, "the watch to be counted", func() bool { return watchers() == 1 })
	if code, _, err := put(c, leader.url, "/m", "2", nil); err != nil || code != 200 {
		t.Fatalf("put: %d %v", code, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	waitFor(t, 5*time.Second, "the fired watch to be gone", func() bool { return watchers() == 0 })
	if v := metricValue(follower.metrics(t), "etcd_debugging_store_watch_requests_total"); v != 1 {
		t.Fatalf("watch requests %v, want 1", v)
	}

	// The peers, by hex id, as etcd labels them.
	lm := leader.metrics(t)
	for _, m := range ms {
		if m == leader {
			continue
		}
		if v := metricValue(lm, "etcd_network_peer_sent_bytes_total", "To", ids[m]); v <= 0 {
			t.Fatalf("leader's bytes sent to %s (%s): %v", m.name, ids[m], v)
		}
		if v := metricValue(lm, "etcd_network_peer_round_trip_time_seconds", "To", ids[m]); v <= 0 {
			t.Fatalf("leader's round trips to %s: %v", m.name, v)
		}
		if v := metricValue(m.metrics(t), "etcd_network_peer_received_bytes_total", "From", ids[leader]); v <= 0 {
			t.Fatalf("%s's bytes from the leader: %v", m.name, v)
		}
	}

	// The leader dies: the others see a new one.
	var alive []*member
	changes := map[*member]float64{}
	for _, m := range ms {
		if m != leader {
			alive = append(alive, m)
			changes[m] = metricValue(m.metrics(t), "etcd_server_leader_changes_seen_total")
		}
	}
	leader.cmd.Process.Signal(syscall.SIGKILL)
	leader.cmd.Wait()
	next := waitLeader(t, alive, 10*time.Second)
	for _, m := range alive {
		mfs := m.metrics(t)
		if v := metricValue(mfs, "etcd_server_leader_changes_seen_total"); v < changes[m]+1 {
			t.Fatalf("%s: leader changes %v after the leader died, was %v", m.name, v, changes[m])
		}
		want := 0.0
		if m == next {
			want = 1
		}
		if v := metricValue(mfs, "etcd_server_is_leader"); v != want {
			t.Fatalf("%s: is_leader %v, want %v", m.name, v, want)
		}
	}
}

// --listen-metrics-urls serves /metrics and /health, and nothing of the
// client API; /debug/vars on the client URL shows raft's status.
func TestMetricsListenerAndDebugVars(t *testing.T) {
	mu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	s := startServer(t, t.TempDir(), "--listen-metrics-urls", mu)
	if code, _, err := put(&http.Client{Timeout: 5 * time.Second}, s.url, "/a", "1", nil); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	mfs := scrapeMetrics(t, mu+"/metrics")
	for name, want := range map[string]float64{
		"etcd_server_has_leader": 1, "etcd_server_is_leader": 1,
	} {
		if v := metricValue(mfs, name); v != want {
			t.Fatalf("%s = %v, want %v", name, v, want)
		}
	}
	if v := metricValue(mfs, "etcd_debugging_store_writes_total", "action", "set"); v != 1 {
		t.Fatalf("writes{set} = %v on the metrics listener", v)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "etcd_server_version"} {
		if _, ok := mfs[name]; !ok {
			t.Fatalf("no %s", name)
		}
	}
	status := func(url string) (int, string) {
		resp, err := statsClient.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := status(mu + "/health"); code != 200 || !strings.Contains(body, `"health":"true"`) {
		t.Fatalf("/health on the metrics URL: %d %s", code, body)
	}
	if code, _ := status(mu + "/v2/keys/a"); code != 404 {
		t.Fatalf("/v2/keys on the metrics URL: %d", code)
	}
	code, body := status(s.url + "/debug/vars")
	var vars struct {
		Cmdline []string `json:"cmdline"`
		Raft    struct {
			RaftState string `json:"raftState"`
		} `json:"raft.status"`
		FDLimit uint64 `json:"file_descriptor_limit"`
	}
	if err := json.Unmarshal([]byte(body), &vars); code != 200 || err != nil || vars.Raft.RaftState != "StateLeader" || vars.FDLimit == 0 || len(vars.Cmdline) == 0 {
		t.Fatalf("/debug/vars: %d %v %+v", code, err, vars)
	}
}
