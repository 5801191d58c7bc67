package httpfront

import (
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// metricsListener serves h's metrics listener and returns a GET of a path
// on it.
func metricsListener(t *testing.T, h *harness) func(method, path string) (int, http.Header, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.srv.ServeMetrics(ln)
	base := "http://" + ln.Addr().String()
	return func(method, path string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
}

// /livez and /readyz on the metrics listener answer as etcd 3.5's do.
func TestProbes(t *testing.T) {
	h := newHarness(t, withRegistry(prometheus.NewRegistry()))
	do := metricsListener(t, h)
	for _, tc := range []struct{ path, body string }{
		{"/livez", "ok\n"},
		{"/readyz", "ok\n"},
		{"/livez?verbose", "[+]serializable_read ok\nok\n"},
		{"/readyz?verbose", "[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n"},
		{"/readyz?verbose&exclude=linearizable_read,non_learner", "[+]data_corruption ok\n[+]serializable_read ok\nok\n"},
		{"/readyz?verbose&exclude=nothing", "[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n"},
		{"/livez/serializable_read?verbose", "[+]serializable_read ok\nok\n"},
		{"/readyz/linearizable_read", "ok\n"},
	} {
		code, hdr, body := do("GET", tc.path)
		if code != 200 || body != tc.body || hdr.Get("Content-Type") != textPlain || hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q %v", tc.path, code, body, hdr)
		}
	}
	for _, p := range []string{"/livez/", "/readyz/foo", "/livez/linearizable_read", "/livezz"} {
		if code, _, body := do("GET", p); code != 404 || body != "404 page not found\n" {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	if code, hdr, body := do("POST", "/readyz"); code != 405 || hdr.Get("Allow") != "GET" || body != "Method Not Allowed\n" {
		t.Errorf("POST /readyz: %d %v %q", code, hdr, body)
	}
	// On the client URLs they are not served, as in etcd.
	if r := h.get("/livez"); r.status != 404 {
		t.Errorf("/livez on the client URL: %d", r.status)
	}
}

// Without a quorum the linearizable check fails, with its reason, whether
// verbose was asked or not; the liveness probe still passes.
func TestProbesWithoutQuorum(t *testing.T) {
	h := newHarness(t, withRegistry(prometheus.NewRegistry()), failingQuorum())
	do := metricsListener(t, h)
	want := "[+]data_corruption ok\n[+]serializable_read ok\n[-]linearizable_read failed: etcdserver: no leader\n[+]non_learner ok\n\n"
	for _, p := range []string{"/readyz", "/readyz?verbose"} {
		if code, _, body := do("GET", p); code != 503 || body != want {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	if code, _, body := do("GET", "/readyz/linearizable_read"); code != 503 || body != "[-]linearizable_read failed: etcdserver: no leader\n\n" {
		t.Errorf("/readyz/linearizable_read: %d %q", code, body)
	}
	if code, _, body := do("GET", "/readyz?exclude=linearizable_read"); code != 200 || body != "ok\n" {
		t.Errorf("excluded: %d %q", code, body)
	}
	if code, _, body := do("GET", "/livez"); code != 200 || body != "ok\n" {
		t.Errorf("/livez: %d %q", code, body)
	}
}
