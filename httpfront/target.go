package httpfront

import (
	"bytes"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// target is the request target as net/http hands it to etcd's handlers:
// the decoded path (URL.Path, which the handlers read keys from), its escaped
// form (URL.EscapedPath, which ServeMux cleans and routes on) and the raw
// query. The slices point into the RequestCtx or into own; both live only as
// long as the request.
type target struct {
	path    []byte
	escaped []byte
	query   []byte
	own     []byte
}

// pathKeeps marks the bytes net/url leaves alone in an escaped path (letters,
// digits, unreserved marks, the sub-delimiters, ':' '@' '/' and the brackets):
// a target made only of them decodes to itself and escapes to itself.
var pathKeeps [256]bool

func init() {
	for c := 0; c < 256; c++ {
		pathKeeps[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:@[]/", byte(c)) >= 0
	}
}

// parse splits the raw request URI as url.ParseRequestURI would and reports
// false where it would fail (net/http then answers 400 itself). The common
// target, plain bytes only, is taken apart without copying.
func (t *target) parse(uri []byte) bool {
	p, q := uri, []byte(nil)
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		p, q = uri[:i], uri[i+1:]
	}
	if len(p) > 0 && p[0] == '/' && plainPath(p) && !hasCTL(q) {
		t.path, t.escaped, t.query = p, p, q
		return true
	}
	u, err := url.ParseRequestURI(string(uri))
	if err != nil {
		return false
	}
	esc := u.EscapedPath()
	t.own = append(t.own[:0], u.Path...)
	n := len(t.own)
	t.own = append(t.own, esc...)
	m := len(t.own)
	t.own = append(t.own, u.RawQuery...)
	t.path, t.escaped, t.query = t.own[:n], t.own[n:m], t.own[m:]
	return true
}

func plainPath(p []byte) bool {
	for _, c := range p {
		if !pathKeeps[c] {
			return false
		}
	}
	return true
}

func hasCTL(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// clean reports whether ServeMux would take the escaped path as it is; if
// not, it returns the cleaned path ServeMux redirects to.
func (t *target) clean() (string, bool) {
	if isCleanMuxPath(t.escaped) {
		return "", true
	}
	return cleanMuxPath(string(t.escaped)), false
}

// isCleanMuxPath reports whether cleanMuxPath(p) == p without building it:
// a leading slash, no empty segment but a trailing one, no "." or ".."
// segment.
func isCleanMuxPath(p []byte) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[start:i]
		switch {
		case len(seg) == 0:
			if i < len(p) {
				return false
			}
		case len(seg) == 1 && seg[0] == '.', len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			return false
		}
		start = i + 1
	}
	return true
}

// cleanMuxPath is ServeMux's cleanPath: path.Clean, rooted, keeping a
// trailing slash. It decides redirects, so it is not actors.CleanKey, the
// tree's cleaning of keys, which drops the trailing slash.
func cleanMuxPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// redirect answers an unclean path as ServeMux does: 307 to the cleaned path
// with the query kept, the Location built as net/http's Redirect builds it.
func redirect(ctx *fasthttp.RequestCtx, m method, cleaned string, query []byte) {
	u := url.URL{Path: cleaned, RawQuery: string(query)}
	loc := u.String()
	if pu, err := url.Parse(loc); err == nil && pu.Scheme == "" && pu.Host == "" {
		rest, q, hasQ := strings.Cut(loc, "?")
		trailing := strings.HasSuffix(rest, "/")
		rest = path.Clean(rest)
		if trailing && !strings.HasSuffix(rest, "/") {
			rest += "/"
		}
		if hasQ {
			rest += "?" + q
		}
		loc = rest
	}
	ctx.Response.Header.Set("Location", hexEscapeNonASCII(loc))
	if m == mGET || m == mHEAD {
		ctx.SetContentType("text/html; charset=utf-8")
	}
	ctx.SetStatusCode(fasthttp.StatusTemporaryRedirect)
	if m == mGET {
		ctx.SetBodyString("<a href=\"" + htmlReplacer.Replace(loc) + "\">Temporary Redirect</a>.\n\n")
	}
}

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

// hexEscapeNonASCII is net/http's escaping of a Location header: bytes above
// ASCII as %xx, in lowercase hex.
func hexEscapeNonASCII(s string) string {
	var b []byte
	pos := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			b = append(b, s[pos:i]...)
			b = append(b, '%')
			b = strconv.AppendInt(b, int64(s[i]), 16)
			pos = i + 1
		}
	}
	if b == nil {
		return s
	}
	return string(append(b, s[pos:]...))
}

// routeID names the handler ServeMux would pick.
type routeID uint8

const (
	routeNotFound routeID = iota
	routeKeys
	routeMembers
	routeMachines
	routeStatsStore
	routeStatsSelf
	routeStatsLeader
	routeVersion
	routeHealth
	routeMetrics
	routeDebugVars
)

// route matches a clean escaped path against etcd's patterns as Go's ServeMux
// does: segment by segment, each segment unescaped on its own (so "key%73"
// is "keys" but "v2%2Fkeys" is one segment), a trailing slash being a segment
// of its own that only the subtree patterns ("/v2/keys/", "/v2/members/")
// accept.
func route(p []byte) routeID {
	var segs [3][]byte
	n, more := 0, false
	for len(p) > 0 {
		if n == len(segs) {
			more = true
			break
		}
		segs[n], p = firstSegment(p)
		n++
	}
	switch {
	case n == 1 && segIs(segs[0], "version"):
		return routeVersion
	case n == 1 && segIs(segs[0], "health"):
		return routeHealth
	case n == 1 && segIs(segs[0], "metrics"):
		return routeMetrics
	case n == 2 && segIs(segs[0], "debug") && segIs(segs[1], "vars"):
		return routeDebugVars
	case n < 2 || !segIs(segs[0], "v2"):
		return routeNotFound
	case segIs(segs[1], "keys"):
		return routeKeys
	case segIs(segs[1], "members"):
		return routeMembers
	case n == 2 && segIs(segs[1], "machines"):
		return routeMachines
	case n == 3 && !more && segIs(segs[1], "stats"):
		switch {
		case segIs(segs[2], "store"):
			return routeStatsStore
		case segIs(segs[2], "self"):
			return routeStatsSelf
		case segIs(segs[2], "leader"):
			return routeStatsLeader
		}
	}
	return routeNotFound
}

// firstSegment splits a path starting with '/' into its first segment and
// the rest; a lone "/" is the trailing-slash segment.
func firstSegment(p []byte) (seg, rest []byte) {
	if len(p) == 1 {
		return p, nil
	}
	p = p[1:]
	if i := bytes.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, nil
}

func segIs(seg []byte, lit string) bool {
	if bytes.IndexByte(seg, '%') < 0 {
		return string(seg) == lit
	}
	if u, err := url.PathUnescape(string(seg)); err == nil {
		return u == lit
	}
	return string(seg) == lit
}
