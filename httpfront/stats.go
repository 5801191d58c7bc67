package httpfront

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

const versionBody = `{"etcdserver":"` + ServerVersion + `","etcdcluster":"` + ClusterVersion + `"}`

// healthReadTimeout is how long etcd's /health waits for its quorum read.
const healthReadTimeout = time.Second

func (s *Server) serveVersion(ctx *fasthttp.RequestCtx, m method) {
	if m != mGET {
		methodNotAllowed(ctx, "GET")
		return
	}
	ctx.SetContentType(appJSON)
	ctx.SetBodyString(versionBody)
}

// serveMachines lists every member's client URLs, as text.
func (s *Server) serveMachines(ctx *fasthttp.RequestCtx, m method) {
	if m != mGET && m != mHEAD {
		methodNotAllowed(ctx, "GET,HEAD")
		return
	}
	st := s.status()
	if st == nil {
		messageError(ctx, fasthttp.StatusInternalServerError, "Internal Server Error")
		return
	}
	var urls []string
	for _, mb := range st.Members {
		urls = append(urls, mb.ClientURLs...)
	}
	sort.Strings(urls)
	if len(urls) > 0 {
		ctx.SetContentType(textPlain)
	}
	ctx.SetBodyString(strings.Join(urls, ", "))
}

// status asks the raft actor for its status; nil if it did not answer in
// time.
func (s *Server) status() *actors.Status {
	a := getStatus()
	t := getTimer(s.timeout)
	ok := s.send(s.pids.Raft, a) && await(a.Done, t)
	putTimer(t)
	if !ok {
		return nil
	}
	st := a.Status
	putStatus(a)
	return &st
}

// statusForGet is the start of the raft stats handlers: GET only, then the
// raft actor's status; nil when ctx is already answered (405, or timeout).
func (s *Server) statusForGet(ctx *fasthttp.RequestCtx, m method) *actors.Status {
	if m != mGET {
		methodNotAllowed(ctx, "GET")
		return nil
	}
	st := s.status()
	if st == nil {
		s.writeKeyError(ctx, errTimeout())
	}
	return st
}

// serveHealth is etcd's v2 health check: a leader must be known, and a
// quorum read must go through within a second.
func (s *Server) serveHealth(ctx *fasthttp.RequestCtx, m method) {
	if m != mGET {
		methodNotAllowed(ctx, "GET")
		return
	}
	st := s.status()
	switch {
	case st == nil:
		unhealthy(ctx, "QGET ERROR:etcdserver: request timed out")
		return
	case st.Lead == 0:
		unhealthy(ctx, "RAFT NO LEADER")
		return
	}
	r := getRead()
	r.Path, r.Quorum, r.Now, r.Body = healthProbe, true, s.now(), r.Body[:0]
	t := getTimer(min(healthReadTimeout, s.timeout))
	ok := s.send(s.pids.Raft, r) && await(r.Done, t)
	putTimer(t)
	if !ok {
		unhealthy(ctx, "QGET ERROR:etcdserver: request timed out")
		return
	}
	if e := r.Err; e != nil && e.Code >= actors.EcodeRaftInternal {
		cause := e.Cause
		if cause == "" {
			cause = e.Message()
		}
		putRead(r)
		unhealthy(ctx, "QGET ERROR:"+cause)
		return
	}
	putRead(r)
	ctx.SetContentType(textPlain)
	ctx.SetBodyString(`{"health":"true","reason":""}`)
}

// healthProbe is the key a health check reads through raft, as etcd's health
// check does a quorum get: one no client can create, so the answer stays tiny.
const healthProbe = "/\x00"

func unhealthy(ctx *fasthttp.RequestCtx, reason string) {
	b := append([]byte(`{"health":"false","reason":`), actors.AppendJSONString(nil, reason)...)
	httpError(ctx, fasthttp.StatusServiceUnavailable, string(append(b, '}')))
}

// serveStatsSelf renders etcd's ServerStats: field order and omissions as
// encoding/json gives them (the rates are zero here, so left out).
func (s *Server) serveStatsSelf(ctx *fasthttp.RequestCtx, m method) {
	st := s.statusForGet(ctx, m)
	if st == nil {
		return
	}
	b := append(make([]byte, 0, 320), `{"name":`...)
	b = actors.AppendJSONString(b, s.self.Name)
	b = append(b, `,"id":"`...)
	b = strconv.AppendUint(b, s.self.ID, 16)
	b = append(b, `","state":"`...)
	if st.IsLeader {
		b = append(b, "StateLeader"...)
	} else {
		b = append(b, "StateFollower"...)
	}
	b = append(b, `","startTime":`...)
	b = appendTime(b, unixTime(st.StartTime))
	b = append(b, `,"leaderInfo":{"leader":"`...)
	if st.Lead != 0 {
		b = strconv.AppendUint(b, st.Lead, 16)
	}
	since := unixTime(st.LeaderSince)
	b = append(b, `","uptime":"`...)
	b = append(b, time.Unix(0, s.now()).Sub(since).String()...)
	b = append(b, `","startTime":`...)
	b = appendTime(b, since)
	b = append(b, `},"recvAppendRequestCnt":`...)
	b = strconv.AppendUint(b, st.RecvAppendRequestCnt, 10)
	b = append(b, `,"sendAppendRequestCnt":`...)
	b = strconv.AppendUint(b, st.SendAppendRequestCnt, 10)
	b = append(b, '}')
	ctx.SetContentType(appJSON)
	ctx.SetBody(b)
}

// unixTime is a clock reading as etcd keeps it: local time, the zero Time
// when never set.
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// appendTime renders a time as encoding/json does.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// serveStatsLeader renders etcd's LeaderStats on the leader. Followers carry
// no measurements yet: each shows etcd's initial values.
func (s *Server) serveStatsLeader(ctx *fasthttp.RequestCtx, m method) {
	st := s.statusForGet(ctx, m)
	if st == nil {
		return
	}
	if !st.IsLeader {
		messageError(ctx, fasthttp.StatusForbidden, "not current leader")
		return
	}
	var ids []string
	for _, mb := range st.Members {
		if mb.ID != s.self.ID {
			ids = append(ids, strconv.FormatUint(mb.ID, 16))
		}
	}
	sort.Strings(ids)
	b := append(make([]byte, 0, 64), `{"leader":"`...)
	b = strconv.AppendUint(b, s.self.ID, 16)
	b = append(b, `","followers":{`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, id...)
		b = append(b, `":{"latency":{"current":0,"average":0,"standardDeviation":0,"minimum":9223372036854776000,"maximum":0},"counts":{"fail":0,"success":0}}`...)
	}
	b = append(b, "}}"...)
	ctx.SetContentType(appJSON)
	ctx.SetBody(b)
}

// serveStatsStore renders the tree's counters and the hub's watcher count in
// etcd's field order.
func (s *Server) serveStatsStore(ctx *fasthttp.RequestCtx, m method) {
	if m != mGET {
		methodNotAllowed(ctx, "GET")
		return
	}
	ask := &actors.StoreStatsAsk{Done: make(chan *actors.StoreStatsAsk, 1)}
	count := &actors.WatcherCountAsk{Done: make(chan *actors.WatcherCountAsk, 1)}
	t := getTimer(s.timeout)
	ok := s.send(s.pids.Tree, ask)
	counting := ok && s.send(s.pids.Hub, count)
	ok = ok && await(ask.Done, t) && (!counting || await(count.Done, t))
	putTimer(t)
	if !ok {
		s.writeKeyError(ctx, errTimeout())
		return
	}
	st := ask.Stats
	if counting {
		st.Watchers = count.Count
	}
	b := make([]byte, 0, 320)
	for i, v := range [...]uint64{
		st.GetSuccess, st.GetFail, st.SetSuccess, st.SetFail, st.DeleteSuccess, st.DeleteFail,
		st.UpdateSuccess, st.UpdateFail, st.CreateSuccess, st.CreateFail,
		st.CompareAndSwapSuccess, st.CompareAndSwapFail, st.CompareAndDeleteSuccess, st.CompareAndDeleteFail,
		st.ExpireCount, st.Watchers,
	} {
		b = append(b, storeStatNames[i]...)
		b = strconv.AppendUint(b, v, 10)
	}
	b = append(b, '}')
	ctx.SetContentType(appJSON)
	ctx.SetBody(b)
}

var storeStatNames = [...]string{
	`{"getsSuccess":`, `,"getsFail":`, `,"setsSuccess":`, `,"setsFail":`, `,"deleteSuccess":`, `,"deleteFail":`,
	`,"updateSuccess":`, `,"updateFail":`, `,"createSuccess":`, `,"createFail":`,
	`,"compareAndSwapSuccess":`, `,"compareAndSwapFail":`, `,"compareAndDeleteSuccess":`, `,"compareAndDeleteFail":`,
	`,"expireCount":`, `,"watchers":`,
}
