package httpfront

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

const (
	hdrClusterID = "X-Etcd-Cluster-Id"
	hdrEtcdIndex = "X-Etcd-Index"
	hdrRaftIndex = "X-Raft-Index"
	hdrRaftTerm  = "X-Raft-Term"
	// hdrHistoryStart is ours, not etcd's: the oldest index a watch can still ask
	// for, so a client need not parse a 401's cause to resync.
	hdrHistoryStart = "X-Etcd-History-Start"

	appJSON   = "application/json"
	textPlain = "text/plain; charset=utf-8"

	keysAllow    = "HEAD,GET,PUT,POST,DELETE"
	membersAllow = "GET,POST,DELETE,PUT"
)

// method is the request method as the handlers tell them apart; methods are
// case-sensitive, as in net/http.
type method uint8

const (
	mOther method = iota
	mGET
	mHEAD
	mPUT
	mPOST
	mDELETE
	mOPTIONS
)

func methodOf(b []byte) method {
	switch string(b) {
	case "GET":
		return mGET
	case "HEAD":
		return mHEAD
	case "PUT":
		return mPUT
	case "POST":
		return mPOST
	case "DELETE":
		return mDELETE
	case "OPTIONS":
		return mOPTIONS
	}
	return mOther
}

func setUint(h *fasthttp.ResponseHeader, name string, v uint64) {
	var b [20]byte
	h.SetBytesV(name, strconv.AppendUint(b[:0], v, 10))
}

// httpError is net/http's Error: plain text, no sniffing, a trailing newline.
func httpError(ctx *fasthttp.RequestCtx, code int, msg string) {
	ctx.SetStatusCode(code)
	ctx.SetContentType(textPlain)
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBodyString(msg + "\n")
}

// methodNotAllowed is etcd's allowMethod refusal.
func methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	httpError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
}

// badRequest is what net/http answers, before any handler, to a request
// target it cannot parse.
func badRequest(ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	ctx.SetStatusCode(fasthttp.StatusBadRequest)
	ctx.SetContentType(textPlain)
	ctx.SetConnectionClose()
	ctx.SetBodyString("400 Bad Request")
}

// writeKeyError renders an etcd error as v2error's WriteTo does; buf is
// scratch space, returned for reuse.
func writeKeyError(ctx *fasthttp.RequestCtx, buf []byte, e *actors.Error) []byte {
	buf = e.AppendJSON(buf[:0])
	ctx.SetStatusCode(e.Status())
	ctx.SetContentType(appJSON)
	setUint(&ctx.Response.Header, hdrEtcdIndex, e.Index)
	ctx.SetBody(buf)
	return buf
}

func (s *Server) writeKeyError(ctx *fasthttp.RequestCtx, e *actors.Error) {
	writeKeyError(ctx, nil, e)
}

// messageError is httptypes.HTTPError's rendering, used by the members and
// stats endpoints: {"message":"..."} without a trailing newline.
func messageError(ctx *fasthttp.RequestCtx, code int, msg string) {
	b := append(make([]byte, 0, len(msg)+16), `{"message":`...)
	b = actors.AppendJSONString(b, msg)
	b = append(b, '}')
	ctx.SetStatusCode(code)
	ctx.SetContentType(appJSON)
	ctx.SetBody(b)
}

// errTimeout is what etcd answers when the server gave no answer in time.
func errTimeout() *actors.Error {
	return actors.NewError(actors.EcodeRaftInternal, "etcdserver: request timed out", 0)
}
