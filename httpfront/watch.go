package httpfront

import (
	"bufio"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

// streamBuffer is how many deliveries a stream's sink holds, etcd's buffer
// per stream watcher.
const streamBuffer = 100

// streamWriteTimeout bounds one write to a long poll's client, which the
// server-wide write timeout cannot (it is set once per response).
const streamWriteTimeout = time.Minute

var watchIDs atomic.Uint64

// watch is a wait=true GET. etcd registers the watcher, then sends its
// headers at once and the event whenever it comes; clients (and the
// conformance checker) rely on those early headers. The front does the same:
// it registers the watch with the hub, learns the member's indexes, and then
// either answers at once (the hub answered from its history: an event, or an
// error such as 401) or flushes the headers and streams the body as events
// arrive, ending it at WatchMaxWait or shutdown, which reads as 200 with an
// empty body: "watch again".
func (s *Server) watch(ctx *fasthttp.RequestCtx, rq *request, kr *keyRequest) {
	w := &actors.Watch{
		ID:         watchIDs.Add(1),
		Path:       kr.cmd.Path,
		Recursive:  kr.cmd.Recursive,
		Stream:     kr.stream,
		SinceIndex: kr.waitIndex,
	}
	if kr.stream {
		w.Sink = make(chan *actors.WatchEvent, streamBuffer)
	} else {
		w.Sink = make(chan *actors.WatchEvent, 2) // the acknowledgment, then the event
	}
	// The hub answers every registration at once: an error that ends the
	// watch, or an acknowledgment with the indexes of this moment.
	var first *actors.WatchEvent
	t := getTimer(s.timeout)
	registered := s.send(s.pids.Hub, w)
	if registered {
		select {
		case first = <-w.Sink:
		case <-t.C:
		}
	}
	putTimer(t)
	if first == nil {
		if registered {
			s.root.Send(s.pids.Hub, &actors.Unwatch{ID: w.ID})
		}
		s.timedOut(ctx, rq, "watch", w.Path)
		return
	}
	if first.Err != nil {
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
		select {
		case we := <-w.Sink:
			if we.Event != nil {
				rq.out = we.Event.AppendJSON(rq.out[:0], we.Event.At, false)
				ctx.SetBody(rq.out)
				return
			}
		default:
		}
	}
	// Long poll: the handler returns, fasthttp flushes the headers and runs
	// the stream writer on its own goroutine; nothing of ctx may be used
	// there, only the connection for write deadlines.
	ctx.Response.ImmediateHeaderFlush = true
	if err := ctx.SetWriteDeadline(time.Time{}); err != nil {
		s.log.Debug().Err(err).Msg("watch: write deadline not cleared")
	}
	lp := &longPoll{s: s, w: w, conn: ctx.Conn()}
	ctx.SetBodyStreamWriter(lp.run)
}

// longPoll writes a watch's events to its client.
type longPoll struct {
	s    *Server
	w    *actors.Watch
	conn net.Conn
	buf  []byte
}

func (lp *longPoll) run(bw *bufio.Writer) {
	s, w := lp.s, lp.w
	t := time.NewTimer(s.maxWait)
	defer t.Stop()
	for {
		select {
		case we := <-w.Sink:
			if we.Err != nil || we.Event == nil {
				// The hub ended the stream (it fell off the history, or the
				// store was replaced): etcd just closes it.
				s.unwatch(w)
				return
			}
			if !lp.send(bw, we) {
				s.unwatch(w)
				return
			}
			if !w.Stream {
				return
			}
		case <-t.C:
			lp.finish(bw)
			return
		case <-s.closing:
			lp.finish(bw)
			return
		}
	}
}

// finish ends a wait that saw no event; one that slipped in while the hub
// was being told is still delivered.
func (lp *longPoll) finish(bw *bufio.Writer) {
	lp.s.unwatch(lp.w)
	if lp.w.Stream {
		return
	}
	select {
	case we := <-lp.w.Sink:
		if we.Err == nil && we.Event != nil {
			lp.send(bw, we)
		}
	default:
	}
}

// send writes one event as its own chunk and reports whether the client
// took it.
func (lp *longPoll) send(bw *bufio.Writer, we *actors.WatchEvent) bool {
	lp.buf = we.Event.AppendJSON(lp.buf[:0], we.Event.At, false)
	if lp.conn != nil {
		if err := lp.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil {
			return false
		}
	}
	if _, err := bw.Write(lp.buf); err != nil {
		return false
	}
	return bw.Flush() == nil
}

func (s *Server) unwatch(w *actors.Watch) {
	s.send(s.pids.Hub, &actors.Unwatch{ID: w.ID})
}
