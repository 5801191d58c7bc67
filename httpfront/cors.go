package httpfront

import (
	"fmt"
	"net"

	"github.com/valyala/fasthttp"
)

// CORS and the host whitelist as etcd 3.5's accessController writes it, before any routing: with
// "*" allowed (the default) every answer carries the headers for "*";
// otherwise only a request whose Origin is one of --cors gets them, naming
// that origin. An OPTIONS request is then answered 200 whatever its origin.

var hdrOrigin = []byte("Origin")

// allowSet is the set of allowed origins or hosts, nil when all are (an
// empty list, or one holding "*").
func allowSet(list []string) map[string]struct{} {
	if len(list) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(list))
	for _, o := range list {
		if o == "*" {
			return nil
		}
		set[o] = struct{}{}
	}
	return set
}

func (s *Server) setCORS(ctx *fasthttp.RequestCtx) {
	if s.corsOrigins == nil {
		setCORS(&ctx.Response.Header, "*")
		return
	}
	origin := ctx.Request.Header.PeekBytes(hdrOrigin)
	if len(origin) == 0 {
		return
	}
	if _, ok := s.corsOrigins[string(origin)]; ok {
		setCORS(&ctx.Response.Header, string(origin))
	}
}

func setCORS(h *fasthttp.ResponseHeader, origin string) {
	h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE")
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Headers", "accept, content-type, authorization")
}

// hostAllowed is etcd's check of the Host header against --host-whitelist
// on a connection without TLS (every one here): a request for a host name
// not listed is answered 421, against DNS rebinding (CVE-2018-5702).
func (s *Server) hostAllowed(ctx *fasthttp.RequestCtx) bool {
	host := ctx.Request.Header.Host()
	if h, _, err := net.SplitHostPort(string(host)); err == nil {
		host = []byte(h)
	}
	if _, ok := s.hosts[string(host)]; ok {
		return true
	}
	s.log.Warn().Bytes("host", host).Msg("rejecting HTTP request to prevent DNS rebinding attacks")
	httpError(ctx, fasthttp.StatusMisdirectedRequest, fmt.Sprintf(`
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist %q

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).
`, host))
	return false
}
