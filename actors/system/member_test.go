package system

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

func startMember(tb testing.TB, tweak ...func(*Config)) (*Member, string) {
	tb.Helper()
	return startMemberOn(tb, tb.TempDir(), tweak...)
}

func startMemberOn(tb testing.TB, dir string, tweak ...func(*Config)) (*Member, string) {
	tb.Helper()
	cfg := memberConfig(dir)
	for _, f := range tweak {
		f(&cfg)
	}
	m, err := Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return startedMember(tb, m)
}

// memberConfig is a member alone on loopback ports the OS picks.
func memberConfig(dir string) Config {
	return Config{
		Name:                     "bench",
		DataDir:                  dir,
		ListenClientURLs:         []string{"http://127.0.0.1:0"},
		AdvertiseClientURLs:      []string{"http://127.0.0.1:0"},
		InitialAdvertisePeerURLs: []string{"http://127.0.0.1:1"},
		InitialClusterToken:      "etcd-cluster",
		SnapshotCount:            10000,
		HeartbeatInterval:        100 * time.Millisecond,
		ElectionTimeout:          time.Second,
		WatchHistory:             1000,
		WatchMaxWait:             time.Minute,
		Log:                      zerolog.Nop(),
	}
}

func startedMember(tb testing.TB, m *Member) (*Member, string) {
	tb.Helper()
	tb.Cleanup(m.Stop)
	addr := m.ClientAddrs()[0]
	c := &fasthttp.Client{}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code, body, err := c.Get(nil, "http://"+addr+"/health")
		if err == nil && code == 200 && strings.Contains(string(body), `"true"`) {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("member not healthy: %d %s %v", code, body, err)
		}
	}
	return m, addr
}

// One write and one read through every actor of a member started in process.
func TestMemberWritesAndReads(t *testing.T) {
	_, addr := startMember(t)
	c := &fasthttp.HostClient{Addr: addr}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/v2/keys/a")
	req.Header.SetMethod("PUT")
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.SetBodyString("value=1")
	if err := c.Do(req, resp); err != nil || resp.StatusCode() != 201 {
		t.Fatalf("put: %v %d %s", err, resp.StatusCode(), resp.Body())
	}
	want := `{"action":"set","node":{"key":"/a","value":"1","modifiedIndex":1,"createdIndex":1}}` + "\n"
	if string(resp.Body()) != want {
		t.Fatalf("put body %s", resp.Body())
	}
	req.Reset()
	req.SetRequestURI("http://" + addr + "/v2/keys/a")
	if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 ||
		string(resp.Body()) != `{"action":"get","node":{"key":"/a","value":"1","modifiedIndex":1,"createdIndex":1}}`+"\n" {
		t.Fatalf("get: %v %d %s", err, resp.StatusCode(), resp.Body())
	}
}

// BenchmarkPutPipeline is one fsynced write through the whole member (HTTP,
// raft, bbolt, tree, hub), from parallel clients so group commit shows.
func BenchmarkPutPipeline(b *testing.B) {
	_, addr := startMember(b)
	c := &fasthttp.HostClient{Addr: addr, MaxConns: 64}
	var n atomic.Uint64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			req.SetRequestURI("http://" + addr + "/v2/keys/bench/" + strconv.FormatUint(n.Add(1)%1000, 10))
			req.Header.SetMethod("PUT")
			req.Header.SetContentType("application/x-www-form-urlencoded")
			req.SetBodyString("value=0123456789012345678901234567890123456789012345678901234567890123")
			if err := c.Do(req, resp); err != nil || resp.StatusCode() >= 300 {
				b.Fatalf("put: %v %d", err, resp.StatusCode())
			}
		}
	})
}

// BenchmarkGetPipeline is one read of one key through the member.
func BenchmarkGetPipeline(b *testing.B) {
	_, addr := startMember(b)
	c := &fasthttp.HostClient{Addr: addr, MaxConns: 64}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://" + addr + "/v2/keys/k")
	req.Header.SetMethod("PUT")
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.SetBodyString("value=v")
	if err := c.Do(req, resp); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + "/v2/keys/k")
		for pb.Next() {
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				b.Fatalf("get: %v %d", err, resp.StatusCode())
			}
		}
	})
}
