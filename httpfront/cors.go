package httpfront

import "github.com/valyala/fasthttp"

// CORS as etcd 3.5's accessController writes it, before any routing: with
// "*" allowed (the default) every answer carries the headers for "*";
// otherwise only a request whose Origin is one of --cors gets them, naming
// that origin. An OPTIONS request is then answered 200 whatever its origin.

var hdrOrigin = []byte("Origin")

// corsOrigins is the set of allowed origins, nil when all are.
func corsOrigins(list []string) map[string]struct{} {
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
