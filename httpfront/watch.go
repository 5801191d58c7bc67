package httpfront

import (
	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

// watch is a wait=true GET. etcd registers the watcher, then sends its
// headers at once and the event whenever it comes; clients (and the
// conformance checker) rely on those early headers. The front does the same:
// it registers the watch with the hub, learns the member's indexes, and then
// either answers at once (the hub answered from its history: an event, or an
// error such as 401) or parks the connection (package connpark): the headers go
// out, no goroutine stays behind, and the events are written as they come,
// each as its own chunk. A wait that ends at WatchMaxWait or shutdown reads
// as 200 with an empty body: "watch again".
func (s *Server) watch(ctx *fasthttp.RequestCtx, rq *request, kr *keyRequest) {
	pw := s.park.NewWatch(kr.stream)
	w := &actors.Watch{
		ID:         pw.ID(),
		Path:       kr.cmd.Path,
		Recursive:  kr.cmd.Recursive,
		Stream:     kr.stream,
		SinceIndex: kr.waitIndex,
		Sink:       pw,
	}
	// The hub answers every registration at once: an error that ends the
	// watch, or an acknowledgment with the indexes of this moment.
	var first *actors.WatchEvent
	t := getTimer(s.timeout)
	registered := s.send(s.pids.Hub, w)
	if registered {
		select {
		case first = <-pw.First():
		case <-t.C:
		}
	}
	putTimer(t)
	if first == nil {
		pw.Abandon()
		if registered {
			s.unwatch(pw.ID())
		}
		s.timedOut(ctx, rq, "watch", w.Path)
		return
	}
	if first.Err != nil {
		pw.Abandon()
		rq.out = writeKeyError(ctx, rq.out, first.Err)
		return
	}
	h := &ctx.Response.Header
	ctx.SetContentType(appJSON)
	setUint(h, hdrEtcdIndex, first.EtcdIndex)
	setUint(h, hdrRaftIndex, first.RaftIndex)
	setUint(h, hdrRaftTerm, first.RaftTerm)
	setUint(h, hdrHistoryStart, first.HistoryStart)
	// An event already found in the history answers a one-shot at once.
	if !kr.stream {
		if ev := pw.TakeEarly(); ev != nil {
			rq.out = ev.AppendJSON(rq.out[:0], ev.At, false)
			ctx.SetBody(rq.out)
			return
		}
	}
	// Long poll: render the headers now (fasthttp's own rendering, Date
	// included), and let fasthttp hand over the connection once the handler
	// returns, without writing anything itself.
	var chunked, keep bool
	if ctx.Request.Header.IsHTTP11() {
		h.SetContentLength(-1) // chunked
		chunked = true
		keep = !ctx.Request.Header.ConnectionClose()
	}
	if !keep {
		// An HTTP/1.0 client reads the body to the connection's end, as
		// net/http serves it; one that asked to close gets that too.
		h.SetConnectionClose()
	}
	pw.ParkAfter(ctx, chunked, keep, h.AppendBytes)
}

func (s *Server) unwatch(id uint64) {
	s.send(s.pids.Hub, &actors.Unwatch{ID: id})
}
