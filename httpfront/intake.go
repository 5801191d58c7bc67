package httpfront

import (
	"net"

	"github.com/valyala/fasthttp"
)

// The intake (intake_linux.go) serves a long poll that arrived whole on a
// connection waiting in the ready listener's epoll set, without fasthttp:
// fasthttp would give it a worker goroutine, a request context and read and
// write buffers, all at once for every watcher of a crowd that attaches
// together, and the Go runtime keeps that memory long after the watches are
// parked. The intake runs the same handler on a context of its own, parks
// the watch, and puts connections whose answer is complete back in the
// epoll set. Everything else, and anything it is unsure of, goes to fasthttp
// untouched.

// intakeConn is the connection an intake context reports; a watch handled
// there leaves its parking function in it instead of hijacking.
type intakeConn struct {
	net.Conn
	park func(net.Conn)
}

// hijack has c parked by park once the handler returns: by fasthttp's
// hijacking when fasthttp serves the request, by the intake when it does.
func hijack(ctx *fasthttp.RequestCtx, park func(net.Conn)) {
	if ic, ok := ctx.Conn().(*intakeConn); ok {
		ic.park = park
		return
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(park)
}
