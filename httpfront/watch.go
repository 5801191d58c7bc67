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

// indexProbe is a key read only for the etcd index its answer carries (every
// answer, found or not, has one); no client can make it a big directory.
const indexProbe = "/\x00"

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
		w.Sink = make(chan *actors.WatchEvent, 1)
	}
	// The count is a barrier: the hub answers it after the Watch, so by then
	// an answer from the history is already in the sink.
	barrier := &actors.WatcherCountAsk{Done: make(chan *actors.WatcherCountAsk, 1)}
	st := getStatus()
	r := getRead()
	r.Path, r.Now, r.Body = indexProbe, kr.cmd.Now, r.Body[:0]

	t := getTimer(s.timeout)
	registered := s.send(s.pids.Hub, w)
	ok := registered && s.send(s.pids.Hub, barrier) && s.send(s.pids.Raft, st) && s.send(s.pids.Tree, r) &&
		await(barrier.Done, t) && await(st.Done, t) && await(r.Done, t)
	putTimer(t)
	if !ok {
		if registered {
			s.root.Send(s.pids.Hub, &actors.Unwatch{ID: w.ID})
		}
		s.timedOut(ctx, rq, "watch", w.Path)
		return
	}
	raftIndex, raftTerm := st.Status.Applied, st.Status.Term
	etcdIndex := r.EtcdIndex
	if r.Err != nil {
		etcdIndex = r.Err.Index
	}
	putStatus(st)
	putRead(r)

	var first *actors.WatchEvent
	select {
	case first = <-w.Sink:
	default:
	}
	if first != nil && first.Err != nil {
		rq.out = writeKeyError(ctx, rq.out, first.Err)
		return
	}
	h := &ctx.Response.Header
	ctx.SetContentType(appJSON)
	setUint(h, hdrRaftIndex, raftIndex)
	setUint(h, hdrRaftTerm, raftTerm)
	if first != nil && first.Event != nil {
		setUint(h, hdrEtcdIndex, first.EtcdIndex)
		if !kr.stream {
			rq.out = first.Event.AppendJSON(rq.out[:0], first.Event.At, false)
			ctx.SetBody(rq.out)
			return
		}
	} else {
		first = nil
		setUint(h, hdrEtcdIndex, etcdIndex)
	}

	// Long poll: the handler returns, fasthttp flushes the headers and runs
	// the stream writer on its own goroutine; nothing of ctx may be used
	// there, only the connection for write deadlines.
	ctx.Response.ImmediateHeaderFlush = true
	if err := ctx.SetWriteDeadline(time.Time{}); err != nil {
		s.log.Debug().Err(err).Msg("watch: write deadline not cleared")
	}
	lp := &longPoll{s: s, w: w, first: first, conn: ctx.Conn()}
	ctx.SetBodyStreamWriter(lp.run)
}

// longPoll writes a watch's events to its client.
type longPoll struct {
	s     *Server
	w     *actors.Watch
	first *actors.WatchEvent
	conn  net.Conn
	buf   []byte
}

func (lp *longPoll) run(bw *bufio.Writer) {
	s, w := lp.s, lp.w
	if lp.first != nil && !lp.send(bw, lp.first) {
		s.unwatch(w)
		return
	}
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
