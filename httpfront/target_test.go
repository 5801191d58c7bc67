package httpfront

import (
	"math/rand"
	"testing"
)

// The answers below were taken from etcd 3.5.35 with curl --path-as-is.

func TestRedirectsUncleanPaths(t *testing.T) {
	h := newHarness(t)
	cases := []struct{ method, target, location, body string }{
		{"GET", "/v2/keys//a", "/v2/keys/a", `<a href="/v2/keys/a">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys/a/../b", "/v2/keys/b", `<a href="/v2/keys/b">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys/a/.", "/v2/keys/a", `<a href="/v2/keys/a">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys/./a", "/v2/keys/a", `<a href="/v2/keys/a">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys/..", "/v2", `<a href="/v2">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys/a//", "/v2/keys/a/", `<a href="/v2/keys/a/">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/members//leader", "/v2/members/leader", `<a href="/v2/members/leader">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "//v2/keys/a", "/v2/keys/a", `<a href="/v2/keys/a">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys/a/..?recursive=true", "/v2/keys?recursive=true", `<a href="/v2/keys?recursive=true">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//a%20b?x=1", "/v2/keys/a%2520b?x=1", `<a href="/v2/keys/a%2520b?x=1">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//%C3%A9", "/v2/keys/%25C3%25A9", `<a href="/v2/keys/%25C3%25A9">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//%c3%a9", "/v2/keys/%25c3%25a9", `<a href="/v2/keys/%25c3%25a9">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//a%2Fb", "/v2/keys/a%252Fb", `<a href="/v2/keys/a%252Fb">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//a%2e%2e", "/v2/keys/a%252e%252e", `<a href="/v2/keys/a%252e%252e">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//a;b", "/v2/keys/a;b", `<a href="/v2/keys/a;b">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//a?x=<'&\">", "/v2/keys/a?x=<'&\">", `<a href="/v2/keys/a?x=&lt;&#39;&amp;&#34;&gt;">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//\xc3\xa9", "/v2/keys/%25C3%25A9", `<a href="/v2/keys/%25C3%25A9">Temporary Redirect</a>.` + "\n\n"},
		{"GET", "/v2/keys//a?\xc3\xa9", "/v2/keys/a?%c3%a9", "<a href=\"/v2/keys/a?\xc3\xa9\">Temporary Redirect</a>.\n\n"},
		{"PUT", "/v2/keys//a", "/v2/keys/a", ""},
		{"POST", "/v2/keys//a", "/v2/keys/a", ""},
		{"DELETE", "/v2/keys//a", "/v2/keys/a", ""},
		{"HEAD", "/v2/keys//a", "/v2/keys/a", ""},
		{"PATCH", "/nope//x", "/nope/x", ""},
	}
	for _, c := range cases {
		r := h.do(c.method, c.target, formHdr, "")
		ctype := "text/html; charset=utf-8"
		if c.method != "GET" && c.method != "HEAD" {
			ctype = ""
		}
		expect(t, c.method+" "+c.target, r, 307, c.body, map[string]string{
			"Location": c.location, "Content-Type": ctype, "Access-Control-Allow-Origin": "*", "X-Etcd-Cluster-Id": "",
		})
	}
	if n := len(h.raft.all()) + len(h.tree.all()) + len(h.hub.all()); n != 0 {
		t.Errorf("%d messages reached the actors", n)
	}
}

func TestRoutingOfEscapedPaths(t *testing.T) {
	h := newHarness(t)
	notFound := "404 page not found\n"
	cases := []struct {
		target string
		status int
		key    string // the key read, "" when not routed to /v2/keys
	}{
		{"/v2/keys/a%2Fb", 404, "/a/b"},
		{"/v2/keys/x%2F%2Fy", 404, "/x/y"},
		{"/v2/keys/%2e%2e", 404, "/"},
		{"/v2/keys/a/%2e", 404, "/a"},
		{"/v2/key%73/a", 404, "/a"},
		{"/v%32/keys/a", 404, "/a"},
		{"/v2/keys/a%3Fb", 404, "/a?b"},
		{"/v2/keys/a+b", 404, "/a+b"},
		{"/v2/keys/caf%C3%A9", 404, "/café"},
		{"/v2/keys/%00", 404, "/\x00"},
		{"/v2/keys/sp%20ace", 404, "/sp ace"},
		{"/v2%2Fkeys/a", 404, ""},
		{"/v2/keys%2Fa", 404, ""},
		{"/nope", 404, ""},
		{"/", 404, ""},
		{"/v2", 404, ""},
		{"/v2/", 404, ""},
		{"/v2/stats", 404, ""},
		{"/v2/stats/self/", 404, ""},
		{"/version/", 404, ""},
		{"/v2/machines/", 404, ""},
		{"/metrics/", 404, ""},
		{"/Metrics", 404, ""},
		{"/debug/vars/", 404, ""},
		{"/debug/", 404, ""},
		{"/v2/keys/a#b", 404, "/a#b"},
		{"http://x/v2/keys/abs", 404, "/abs"},
	}
	for _, c := range cases {
		before := len(reads(h.tree))
		r := h.get(c.target)
		rs := reads(h.tree)
		if c.key == "" {
			expect(t, c.target, r, c.status, notFound, map[string]string{
				"Content-Type": textPlain, "X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": "*",
			})
			if len(rs) != before {
				t.Errorf("%s: routed to the keys", c.target)
			}
			continue
		}
		if r.status != c.status || len(rs) != before+1 || rs[before].Path != c.key {
			t.Errorf("%s: status %d, reads %d, want key %q", c.target, r.status, len(rs)-before, c.key)
			continue
		}
	}
}

func TestBadRequestTarget(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/v2/keys/%zz", "/v2/keys/a%2", "/v2/keys/%", "/v2/keys/\x01", "/v2/keys/a?\x7f", "v2/keys", "*"} {
		r := h.get(target)
		expect(t, target, r, 400, "400 Bad Request", map[string]string{
			"Content-Type": textPlain, "Connection": "close", "Access-Control-Allow-Origin": "",
		})
	}
}

func TestOptionsAndMethods(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/v2/keys/a", "/nope", "/v2/keys//a", "/v2/members"} {
		r := h.do("OPTIONS", target, nil, "")
		expect(t, "OPTIONS "+target, r, 200, "", map[string]string{
			"Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Headers": "accept, content-type, authorization",
			"Content-Length":               "0", "Content-Type": "",
		})
	}
	cases := []struct{ method, target, allow string }{
		{"PATCH", "/v2/keys/a", "HEAD,GET,PUT,POST,DELETE"},
		{"get", "/v2/keys/a", "HEAD,GET,PUT,POST,DELETE"},
		{"PATCH", "/v2/members", "GET,POST,DELETE,PUT"},
		{"HEAD", "/v2/members", "GET,POST,DELETE,PUT"},
		{"POST", "/v2/machines", "GET,HEAD"},
		{"POST", "/version", "GET"},
		{"HEAD", "/version", "GET"},
		{"POST", "/health", "GET"},
		{"HEAD", "/v2/stats/self", "GET"},
		{"PUT", "/v2/stats/store", "GET"},
		{"DELETE", "/v2/stats/leader", "GET"},
	}
	for _, c := range cases {
		r := h.do(c.method, c.target, nil, "")
		body := "Method Not Allowed\n"
		if c.method == "HEAD" {
			body = ""
		}
		expect(t, c.method+" "+c.target, r, 405, body, map[string]string{
			"Allow": c.allow, "Content-Type": textPlain, "X-Content-Type-Options": "nosniff",
			"X-Etcd-Cluster-Id": "", "Access-Control-Allow-Origin": "*",
		})
	}
	if n := len(h.raft.all()) + len(h.tree.all()) + len(h.hub.all()); n != 0 {
		t.Errorf("%d messages reached the actors", n)
	}
}

func TestOversizedBody(t *testing.T) {
	h := newHarness(t, withMaxBody(1024))
	big := "value=" + string(make([]byte, 2000))
	r := h.do("PUT", "/v2/keys/a", formHdr, big)
	expect(t, "oversized form", r, 400,
		`{"errorCode":210,"message":"Invalid POST form","cause":"http: POST too large","index":0}`+"\n",
		// Read whole, as net/http's ParseForm reads it: the connection stays.
		map[string]string{"Content-Type": appJSON, "X-Etcd-Index": "0", "Connection": "", "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd"})
	r = h.do("PUT", "/v2/keys/a", formHdr, "value=small")
	if r.status != 201 {
		t.Errorf("a small body after a big one: %d %s", r.status, r.body)
	}
	if got := h.proposals(); len(got) != 1 || got[0].Value != "small" {
		t.Errorf("proposals %+v", got)
	}
}

// isCleanMuxPath must agree with cleanMuxPath(p) == p, which ServeMux uses.
func TestIsCleanMuxPathAgreesWithCleanMuxPath(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte("/./a")
	fixed := []string{"", "/", "//", "/.", "/..", "/...", "/a/", "/a//", "/a/.", "/a/./", "/a/..", "/a/../", "a", "./", "/.a", "/a."}
	for i := 0; i < 20000; i++ {
		var p string
		if i < len(fixed) {
			p = fixed[i]
		} else {
			b := make([]byte, rng.Intn(9))
			for j := range b {
				b[j] = alphabet[rng.Intn(len(alphabet))]
			}
			p = string(b)
		}
		if got, want := isCleanMuxPath([]byte(p)), cleanMuxPath(p) == p; got != want {
			t.Fatalf("isCleanMuxPath(%q) = %v, cleanMuxPath gives %q", p, got, cleanMuxPath(p))
		}
	}
}
