package httpfront

import (
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/etcdv2/server/actors"
)

// scrape parses a /metrics body with Prometheus' own text parser.
func scrape(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return mfs
}

// series is the family's series by their labels, as `name=value,...` in
// the order Prometheus renders them (sorted by name).
func series(mf *dto.MetricFamily) map[string]*dto.Metric {
	out := map[string]*dto.Metric{}
	for _, m := range mf.GetMetric() {
		var ls []string
		for _, lp := range m.GetLabel() {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		out[strings.Join(ls, ",")] = m
	}
	return out
}

// Keys requests are counted as etcd's v2http counts them: a parsed request
// that is not a watch is received under its method (QGET for a quorum GET);
// one that fails counts under its HTTP status, watches included; one that
// succeeds is timed. A request that does not parse counts nowhere.
func TestMetricsCountKeysRequestsAsEtcd(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, withRegistry(reg), withWatch(func(w *actors.Watch) {
		w.Sink.Deliver(&actors.WatchEvent{Err: actors.NewError(actors.EcodeEventIndexCleared, "the requested history has been cleared [5/1]", 9)})
	}))
	h.get("/v2/keys/a")                                   // 404 from the tree
	h.get("/v2/keys/a?quorum=true")                       // 404 through raft
	h.do("HEAD", "/v2/keys/a", nil, "")                   // 404
	h.do("PUT", "/v2/keys/a", formHdr, "value=1")         // 200
	h.do("PUT", "/v2/keys/a", formHdr, "value=1&ttl=abc") // 400 before parsing is done
	h.get("/v2/keys/a?wait=true&waitIndex=1")             // 401 from the hub
	r := h.get("/metrics")
	if r.status != 200 || r.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("/metrics: %d %v", r.status, r.header)
	}
	mfs := scrape(t, r.body)

	recv := mfs["etcd_http_received_total"]
	if recv.GetType() != dto.MetricType_COUNTER || recv.GetHelp() != "Counter of requests received into the system (successfully parsed and authd)." {
		t.Fatalf("received_total: %v %q", recv.GetType(), recv.GetHelp())
	}
	got := map[string]float64{}
	for l, m := range series(recv) {
		got[l] = m.GetCounter().GetValue()
	}
	want := map[string]float64{"method=GET": 1, "method=QGET": 1, "method=HEAD": 1, "method=PUT": 1}
	if len(got) != len(want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	for l, v := range want {
		if got[l] != v {
			t.Fatalf("received %v, want %v", got, want)
		}
	}
	got = map[string]float64{}
	for l, m := range series(mfs["etcd_http_failed_total"]) {
		got[l] = m.GetCounter().GetValue()
	}
	want = map[string]float64{"code=404,method=GET": 1, "code=404,method=QGET": 1, "code=404,method=HEAD": 1, "code=400,method=GET": 1}
	if len(got) != len(want) {
		t.Fatalf("failed %v, want %v", got, want)
	}
	for l, v := range want {
		if got[l] != v {
			t.Fatalf("failed %v, want %v", got, want)
		}
	}
	lat := series(mfs["etcd_http_successful_duration_seconds"])
	put := lat["method=PUT"]
	if len(lat) != 1 || put.GetHistogram().GetSampleCount() != 1 {
		t.Fatalf("successful durations: %v", lat)
	}
	bs := put.GetHistogram().GetBucket()
	if len(bs) != 14 || bs[0].GetUpperBound() != 0.0005 || bs[12].GetUpperBound() != 2.048 || !math.IsInf(bs[13].GetUpperBound(), 1) {
		t.Fatalf("buckets %v, want etcd's 0.5 ms to 2.048 s", bs)
	}
}

func TestHealthChecksAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, withRegistry(reg))
	h.get("/health")
	h.get("/health")
	mfs := scrape(t, h.get("/metrics").body)
	if v := mfs["etcd_server_health_success"].GetMetric()[0].GetCounter().GetValue(); v != 2 {
		t.Fatalf("health_success %v, want 2", v)
	}
	if v := mfs["etcd_server_health_failures"].GetMetric()[0].GetCounter().GetValue(); v != 0 {
		t.Fatalf("health_failures %v, want 0", v)
	}
}

// /debug/vars is expvar's layout with etcd's two variables; GET only.
func TestDebugVarsAsEtcd(t *testing.T) {
	h := newHarness(t)
	r := h.get("/debug/vars")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json; charset=utf-8" || !strings.HasPrefix(r.body, "{\n\"cmdline\": [") || !strings.HasSuffix(r.body, "}\n}\n") {
		t.Fatalf("/debug/vars: %d %v\n%s", r.status, r.header, r.body)
	}
	var vars map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &vars); err != nil {
		t.Fatal(err)
	}
	var raft struct{ ID, RaftState string }
	if err := json.Unmarshal(vars["raft.status"], &raft); err != nil || raft.ID != "be8945f178813b5d" || raft.RaftState != "StateLeader" {
		t.Fatalf("raft.status %s: %v", vars["raft.status"], err)
	}
	var limit uint64
	if err := json.Unmarshal(vars["file_descriptor_limit"], &limit); err != nil || limit == 0 {
		t.Fatalf("file_descriptor_limit %s", vars["file_descriptor_limit"])
	}
	if _, ok := vars["memstats"]; !ok {
		t.Fatalf("no memstats in %v", vars)
	}
	r = h.do("POST", "/debug/vars", nil, "")
	expect(t, "POST /debug/vars", r, 405, "Method Not Allowed\n", map[string]string{"Allow": "GET"})
}

// The metrics listener serves /metrics and /health, as etcd's
// --listen-metrics-urls does, and nothing of the client API.
func TestMetricsListener(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, withRegistry(reg))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.ServeMetrics(ln) }()
	h.get("/v2/keys/a") // on the client listener
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	code, hdr, body := get("/metrics")
	if code != 200 || hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("/metrics on the metrics listener: %d %v", code, hdr)
	}
	if m := series(scrape(t, body)["etcd_http_received_total"])["method=GET"]; m.GetCounter().GetValue() != 1 {
		t.Fatalf("the metrics listener does not show the client listener's request: %v", m)
	}
	if code, _, body := get("/health"); code != 200 || body != `{"health":"true","reason":""}` {
		t.Fatalf("/health on the metrics listener: %d %q", code, body)
	}
	for _, p := range []string{"/v2/keys/a", "/version", "/debug/vars", "/metrics/"} {
		if code, _, body := get(p); code != 404 || body != "404 page not found\n" {
			t.Fatalf("%s on the metrics listener: %d %q", p, code, body)
		}
	}
	if err := h.srv.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeMetrics: %v", err)
	}
}
