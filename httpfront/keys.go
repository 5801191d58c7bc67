package httpfront

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

// serveKeys is etcd's keysHandler: method check, cluster header, parse, then
// a read, a watch or a write.
func (s *Server) serveKeys(ctx *fasthttp.RequestCtx, rq *request, m method) {
	switch m {
	case mGET, mHEAD, mPUT, mPOST, mDELETE:
	default:
		methodNotAllowed(ctx, keysAllow)
		return
	}
	ctx.Response.Header.SetBytesV(hdrClusterID, s.cluster)
	start := time.Now()
	var kr keyRequest
	req := &ctx.Request
	if len(req.Body()) > s.maxBody && (m == mPUT || m == mPOST) {
		if form, _ := bodyIsForm(req.Header.ContentType()); form {
			rq.out = writeKeyError(ctx, rq.out, actors.NewError(actors.EcodeInvalidForm, "http: POST too large", 0))
			return
		}
	}
	if e := parseKeyRequest(m, rq.target.path, rq.target.query, req.Header.ContentType(), req.Body(), s.nowAt(start), &rq.form, &kr); e != nil {
		rq.out = writeKeyError(ctx, rq.out, e)
		return // etcd counts no request it could not parse
	}
	s.authProbe()
	rm := reqMethodOf(m, kr.op)
	switch kr.op {
	case opRead, opQuorumRead:
		s.m.requestReceived(rm)
		s.read(ctx, rq, &kr)
	case opWatch:
		s.watch(ctx, rq, &kr)
	default:
		s.m.requestReceived(rm)
		s.write(ctx, rq, &kr)
	}
	s.m.requestDone(rm, ctx.Response.StatusCode(), kr.op == opWatch, start)
}

// send hands msg to pid; a nil pid means nobody answers.
func (s *Server) send(pid *actor.PID, msg any) bool {
	if pid == nil {
		return false
	}
	s.root.Send(pid, msg)
	return true
}

// await waits for an answer on done until t fires; after a false return the
// timer's tick is spent and t must not be waited on again.
func await[T any](done <-chan T, t *time.Timer) bool {
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// read is a GET or HEAD: the tree finds the key and hands back its view,
// from which this goroutine renders the body into the Read's buffer.
func (s *Server) read(ctx *fasthttp.RequestCtx, rq *request, kr *keyRequest) {
	r := getRead()
	r.Path, r.Recursive, r.Sorted, r.Now = kr.cmd.Path, kr.cmd.Recursive, kr.sorted, kr.cmd.Now
	r.Quorum = kr.op == opQuorumRead
	r.Body = r.Body[:0]
	pid := s.pids.Tree
	if r.Quorum {
		pid = s.pids.Raft
	}
	t := getTimer(s.timeout)
	ok := s.send(pid, r) && await(r.Done, t)
	putTimer(t)
	if !ok {
		s.timedOut(ctx, rq, "read", r.Path)
		return
	}
	switch {
	case r.Err != nil:
		rq.out = writeKeyError(ctx, rq.out, r.Err)
	case r.View == nil:
		rq.out = writeKeyError(ctx, rq.out, actors.NewError(actors.EcodeRaftInternal, "read answered without a view", r.EtcdIndex))
	default:
		h := &ctx.Response.Header
		ctx.SetContentType(appJSON)
		setUint(h, hdrEtcdIndex, r.EtcdIndex)
		setUint(h, hdrRaftIndex, r.RaftIndex)
		setUint(h, hdrRaftTerm, r.RaftTerm)
		ctx.SetBody(r.Render())
	}
	putRead(r)
}

// write proposes the command and renders the event it produced.
func (s *Server) write(ctx *fasthttp.RequestCtx, rq *request, kr *keyRequest) {
	p := getPropose()
	p.Cmd = kr.cmd
	t := getTimer(s.timeout)
	ok := s.send(s.pids.Raft, p) && await(p.Done, t)
	putTimer(t)
	if !ok {
		s.timedOut(ctx, rq, "write", kr.cmd.Path)
		return
	}
	switch {
	case p.Err != nil:
		rq.out = writeKeyError(ctx, rq.out, p.Err)
	case p.Event == nil:
		rq.out = writeKeyError(ctx, rq.out, actors.NewError(actors.EcodeRaftInternal, "received response with no Event/Watcher", 0))
	default:
		ev := p.Event
		h := &ctx.Response.Header
		ctx.SetContentType(appJSON)
		setUint(h, hdrEtcdIndex, ev.Index)
		setUint(h, hdrRaftIndex, p.RaftIndex)
		setUint(h, hdrRaftTerm, p.RaftTerm)
		if ev.Created() {
			ctx.SetStatusCode(fasthttp.StatusCreated)
		}
		rq.out = ev.AppendJSON(rq.out[:0], ev.At, kr.noValue)
		ctx.SetBody(rq.out)
	}
	putPropose(p)
}

// timedOut answers a request whose actor did not answer in time. The message
// is not pooled: its answer may still come.
func (s *Server) timedOut(ctx *fasthttp.RequestCtx, rq *request, what, key string) {
	s.log.Warn().Str("op", what).Str("key", key).Dur("timeout", s.timeout).Msg("request timed out")
	rq.out = writeKeyError(ctx, rq.out, errTimeout())
}
