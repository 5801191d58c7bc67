package httpfront

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/etcdv2/server/actors"
)

var fieldNames = [nFields]string{
	fRecursive: "recursive", fSorted: "sorted", fWait: "wait", fDir: "dir", fQuorum: "quorum", fStream: "stream",
	fPrevIndex: "prevIndex", fWaitIndex: "waitIndex", fPrevValue: "prevValue", fNoValueOnSuccess: "noValueOnSuccess",
	fTTL: "ttl", fPrevExist: "prevExist", fRefresh: "refresh", fValue: "value",
}

// FuzzParseKeyRequest feeds arbitrary requests through the target parser,
// the router and parseKeyRequest. Every request routed to /v2/keys must end
// as a well-formed command or read, or as an etcd error with a code the
// parser may raise; and net/http itself is the oracle for the decoded path
// and for the form (first values, presence, error texts).
func FuzzParseKeyRequest(f *testing.F) {
	seeds := [][4]string{
		{"GET", "/v2/keys/a", "", ""},
		{"GET", "/v2/keys/a?recursive=true&sorted=true&quorum=false", "", ""},
		{"GET", "/v2/keys/a?wait=true&waitIndex=5&stream=true", "", ""},
		{"HEAD", "/v2/keys/?quorum=1", "", ""},
		{"PUT", "/v2/keys/a?prevExist=true&prevIndex=3", formType, "value=x&ttl=5"},
		{"PUT", "/v2/keys/a?refresh=true", formType, "ttl=5&value="},
		{"PUT", "/v2/keys/a%2Fb/%2e%2e/c", "application/x-www-form-urlencoded; charset=utf-8", "value=a+b%2B"},
		{"PUT", "/v2/keys/a?value=q", formType, "value=%zz&x;y"},
		{"PUT", "/v2/keys/a", "text/plain; foo", "value=1"},
		{"PUT", "/v2/keys/d?dir=true&prevExist=false", "", ""},
		{"POST", "/v2/keys/q", formType, "value=job&dir=false"},
		{"DELETE", "/v2/keys/a?prevValue=x&prevIndex=2&recursive=true", "", ""},
		{"DELETE", "/v2/keys/a?prevValue=", "", ""},
		{"GET", "/v2/key%73/a?rec%75rsive=t&%zz", "", ""},
		{"GET", "/v2/keys/caf\xc3\xa9?ttl=-1", "", ""},
		{"PUT", "/v2/keys/a?noValueOnSuccess=yes", ";;", "a&b"},
		{"GET", "http://host/v2/keys/x?wait=true&quorum=true", "", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, method, uri, ctype, body string) {
		var tg target
		if !tg.parse([]byte(uri)) {
			if _, err := url.ParseRequestURI(uri); err == nil && !strings.HasPrefix(uri, "*") {
				t.Fatalf("%q refused, net/url takes it", uri)
			}
			return
		}
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			t.Fatalf("%q taken, net/url refuses it: %v", uri, err)
		}
		if string(tg.path) != u.Path || string(tg.escaped) != u.EscapedPath() || string(tg.query) != u.RawQuery {
			t.Fatalf("%q: target %q %q %q, net/url %q %q %q", uri, tg.path, tg.escaped, tg.query, u.Path, u.EscapedPath(), u.RawQuery)
		}
		if _, ok := tg.clean(); !ok || route(tg.escaped) != routeKeys {
			return
		}
		m := methodOf([]byte(method))
		switch m {
		case mGET, mHEAD, mPUT, mPOST, mDELETE:
		default:
			return
		}
		var fm form
		var kr keyRequest
		e := parseKeyRequest(m, tg.path, tg.query, []byte(ctype), []byte(body), testNow, &fm, &kr)

		// The oracle: what net/http's ParseForm makes of the same request.
		r := &http.Request{Method: method, URL: u, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		goErr := r.ParseForm()
		switch {
		case goErr != nil:
			if e == nil || e.Code != actors.EcodeInvalidForm || e.Cause != goErr.Error() {
				t.Fatalf("ParseForm fails with %q, we give %v", goErr, e)
			}
			return
		case e != nil && e.Code == actors.EcodeInvalidForm:
			t.Fatalf("ParseForm succeeds, we give %v", e)
		}
		for k := field(0); k < nFields; k++ {
			vs, ok := r.Form[fieldNames[k]]
			if ok != fm.has(k) || ok && vs[0] != string(fm.value(k)) {
				t.Fatalf("field %s: ours %v %q, net/http %q", fieldNames[k], fm.has(k), fm.value(k), vs)
			}
		}

		if e != nil {
			switch e.Code {
			case actors.EcodePrevValueRequired, actors.EcodeTTLNaN, actors.EcodeIndexNaN, actors.EcodeInvalidField,
				actors.EcodeRefreshValue, actors.EcodeRefreshTTLRequired:
			default:
				t.Fatalf("unexpected error code %d", e.Code)
			}
			if e.Index != 0 || e.Status() != 400 || e.Message() == "" || !json.Valid(e.AppendJSON(nil)) {
				t.Fatalf("malformed error %+v", e)
			}
			return
		}
		c := kr.cmd
		if want := path.Join("/", u.Path[len(keysPrefix):]); c.Path != want {
			t.Fatalf("key %q, want %q", c.Path, want)
		}
		if c.Now != testNow {
			t.Fatalf("command not stamped: %+v", c)
		}
		switch m {
		case mGET:
			if kr.op == opWrite {
				t.Fatalf("GET became a write")
			}
		case mHEAD:
			if kr.op != opRead {
				t.Fatalf("HEAD became op %d", kr.op)
			}
		case mPUT:
			if kr.op != opWrite || c.Unique || (c.Op != actors.OpSet && c.Op != actors.OpCreate && c.Op != actors.OpUpdate && c.Op != actors.OpCAS) {
				t.Fatalf("PUT became %+v", c)
			}
		case mPOST:
			if kr.op != opWrite || c.Op != actors.OpCreate || !c.Unique {
				t.Fatalf("POST became %+v", c)
			}
		case mDELETE:
			if kr.op != opWrite || (c.Op != actors.OpDelete && c.Op != actors.OpCAD) || c.Expiration != 0 {
				t.Fatalf("DELETE became %+v", c)
			}
		}
		if kr.op == opWrite {
			enc := c.AppendEncoded(nil)
			back, err := actors.DecodeCommand(enc)
			if err != nil || *back != c {
				t.Fatalf("command does not survive its codec: %+v -> %+v, %v", c, back, err)
			}
		}
	})
}
