package httpfront

import (
	"strings"
	"testing"
)

// The body limits etcd 3.5 puts on the v2 API, as probed on the reference:
// a PUT or POST form is read up to net/http's 10 MiB (10485760 bytes pass,
// one more is "http: POST too large"), whatever --max-request-bytes says;
// a body that is not a form is never read, so 30 MB are answered as any
// other write (the value is then empty).
func TestBodyLimitsAreEtcds(t *testing.T) {
	h := newHarness(t)
	value := strings.Repeat("a", DefaultMaxBodyBytes-len("value="))
	r := h.do("PUT", "/v2/keys/a", formHdr, "value="+value)
	if r.status != 201 {
		t.Fatalf("a form of exactly 10 MiB: %d %.200s", r.status, r.body)
	}
	r = h.do("POST", "/v2/keys/q", formHdr, "value="+value+"a")
	expect(t, "a form one byte over 10 MiB", r, 400,
		`{"errorCode":210,"message":"Invalid POST form","cause":"http: POST too large","index":0}`+"\n",
		map[string]string{"Content-Type": appJSON, "X-Etcd-Index": "0"})
	big := strings.Repeat("x", 30_000_000)
	for _, ctype := range []string{"application/octet-stream", ""} {
		var hdrs map[string]string
		if ctype != "" {
			hdrs = map[string]string{"Content-Type": ctype}
		}
		if r := h.do("PUT", "/v2/keys/b", hdrs, big); r.status != 201 {
			t.Errorf("a 30 MB body of type %q: %d %.200s", ctype, r.status, r.body)
		}
	}
	got := h.proposals()
	if len(got) != 3 || got[0].Value != value || got[1].Value != "" || got[2].Value != "" {
		t.Fatalf("%d proposals", len(got))
	}
}

// With --cors listing origins, only a request from one of them gets CORS
// headers, naming it; OPTIONS is answered 200 either way (etcd's
// accessController). Without --cors every answer has them for "*".
func TestCORSOrigins(t *testing.T) {
	h := newHarness(t, withCORS("http://a.com:8080", "http://b.org:99"))
	allowed := map[string]string{
		"Access-Control-Allow-Origin":  "http://a.com:8080",
		"Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
		"Access-Control-Allow-Headers": "accept, content-type, authorization",
	}
	none := map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": ""}
	for _, m := range []string{"GET", "OPTIONS"} {
		r := h.do(m, "/v2/stats/self", map[string]string{"Origin": "http://a.com:8080"}, "")
		if r.status != 200 {
			t.Errorf("%s from an allowed origin: %d", m, r.status)
		}
		expectHeaders(t, m+" from an allowed origin", r, allowed)
		for _, o := range []string{"http://c.com", "http://a.com", ""} {
			hdrs := map[string]string{}
			if o != "" {
				hdrs["Origin"] = o
			}
			r := h.do(m, "/v2/stats/self", hdrs, "")
			if r.status != 200 {
				t.Errorf("%s from %q: %d", m, o, r.status)
			}
			expectHeaders(t, m+" from "+o, r, none)
		}
	}
	h2 := newHarness(t, withCORS("*"))
	expectHeaders(t, "--cors *", h2.get("/v2/stats/self"), map[string]string{"Access-Control-Allow-Origin": "*"})
}

func expectHeaders(t *testing.T, what string, r *response, hdrs map[string]string) {
	t.Helper()
	for k, want := range hdrs {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
}

// With --host-whitelist, a request naming another host (its port aside,
// case kept) gets etcd's 421 and its text, before CORS or routing, as the
// reference answers it.
func TestHostWhitelist(t *testing.T) {
	h := newHarness(t, withHosts("foo.com", "127.0.0.2"))
	for _, host := range []string{"foo.com:1234", "foo.com", "127.0.0.2:2379"} {
		if r := h.do("GET", "/v2/stats/self", map[string]string{"Host": host}, ""); r.status != 200 {
			t.Errorf("Host %s: %d %s", host, r.status, r.body)
		}
	}
	want := "\netcd received your request, but the Host header was unrecognized.\n\n" +
		"To fix this, choose one of the following options:\n" +
		"- Enable TLS, then any HTTPS request will be allowed.\n" +
		"- Add the hostname you want to use to the whitelist in settings.\n" +
		"  - e.g. etcd --host-whitelist \"127.0.0.1\"\n\n" +
		"This requirement has been added to help prevent \"DNS Rebinding\" attacks (CVE-2018-5702).\n\n"
	for _, m := range []string{"GET", "OPTIONS"} {
		r := h.do(m, "/v2/keys/", map[string]string{"Host": "127.0.0.1:2379"}, "")
		expect(t, m+" for a host not listed", r, 421, want, map[string]string{
			"Content-Type": textPlain, "X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": "",
		})
	}
	if len(want) != 371 {
		t.Fatalf("the reference's body is 371 bytes, this one %d", len(want))
	}
	r := h.do("GET", "/version", map[string]string{"Host": "FOO.com"}, "")
	if r.status != 421 {
		t.Errorf("Host FOO.com: %d", r.status)
	}
}
