package connpark

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
// there is left in it to be parked, instead of hijacking, and renders its
// headers into its buffer (which the intake reuses once they are written).
type intakeConn struct {
	net.Conn
	pw   *Watch
	head []byte
}

// ParkAfter has pw's connection parked once the handler returns: by
// fasthttp's hijacking when fasthttp serves the request, by the intake when
// it does. head renders the response headers into the buffer given; chunked
// says the body is HTTP/1.1's chunked one (else it ends with the
// connection), keep that the connection may serve another request after it.
func (pw *Watch) ParkAfter(ctx *fasthttp.RequestCtx, chunked, keep bool, head func([]byte) []byte) {
	pw.chunked, pw.keep = chunked, keep
	if ic, ok := ctx.Conn().(*intakeConn); ok {
		ic.head = head(ic.head[:0])
		pw.head, pw.borrowed = ic.head, true
		ic.pw = pw
		return
	}
	pw.head = head(make([]byte, 0, 512))
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(pw.park)
}
