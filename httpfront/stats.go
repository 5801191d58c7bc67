package httpfront

import (
	"math"
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
		s.unhealthy(ctx, "QGET ERROR:etcdserver: request timed out")
		return
	case st.Lead == 0:
		s.unhealthy(ctx, "RAFT NO LEADER")
		return
	}
	if reason := s.probeRead(true, min(healthReadTimeout, s.timeout)); reason != "" {
		s.unhealthy(ctx, "QGET ERROR:"+reason)
		return
	}
	s.m.healthOK.Inc()
	ctx.SetContentType(textPlain)
	ctx.SetBodyString(`{"health":"true","reason":""}`)
}

// probeRead reads healthProbe, locally or through raft (quorum), as etcd's
// health checks do; "" when it was answered, else why not. A key that is
// not there is an answer: only raft's errors and timeouts fail the check.
func (s *Server) probeRead(quorum bool, timeout time.Duration) string {
	r := getRead()
	r.Path, r.Quorum, r.Now, r.Body = healthProbe, quorum, s.now(), r.Body[:0]
	pid := s.pids.Tree
	if quorum {
		pid = s.pids.Raft
	}
	t := getTimer(timeout)
	ok := s.send(pid, r) && await(r.Done, t)
	putTimer(t)
	if !ok {
		// r may still be answered: it is not given back to the pool.
		return "etcdserver: request timed out"
	}
	defer putRead(r)
	if e := r.Err; e != nil && e.Code >= actors.EcodeRaftInternal {
		if e.Cause != "" {
			return e.Cause
		}
		return e.Message()
	}
	return ""
}

// healthProbe is the key a health check reads through raft, as etcd's health
// check does a quorum get: one no client can create, so the answer stays tiny.
const healthProbe = "/\x00"

func (s *Server) unhealthy(ctx *fasthttp.RequestCtx, reason string) {
	s.m.healthFailed.Inc()
	b := append([]byte(`{"health":"false","reason":`), actors.AppendJSONString(nil, reason)...)
	httpError(ctx, fasthttp.StatusServiceUnavailable, string(append(b, '}')))
}

// serveStatsSelf renders etcd's ServerStats: field order and omissions as
// encoding/json gives them (a zero rate is left out).
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
	b = appendRate(b, `,"recvPkgRate":`, st.RecvPkgRate)
	b = appendRate(b, `,"recvBandwidthRate":`, st.RecvBandwidthRate)
	b = append(b, `,"sendAppendRequestCnt":`...)
	b = strconv.AppendUint(b, st.SendAppendRequestCnt, 10)
	b = appendRate(b, `,"sendPkgRate":`, st.SendPkgRate)
	b = appendRate(b, `,"sendBandwidthRate":`, st.SendBandwidthRate)
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

// serveStatsLeader renders etcd's LeaderStats on the leader: its figures of
// each follower, etcd's initial ones for a follower it has none of yet.
func (s *Server) serveStatsLeader(ctx *fasthttp.RequestCtx, m method) {
	st := s.statusForGet(ctx, m)
	if st == nil {
		return
	}
	if !st.IsLeader {
		messageError(ctx, fasthttp.StatusForbidden, "not current leader")
		return
	}
	var fs []actors.FollowerStats
	for _, mb := range st.Members {
		if mb.ID == st.ID {
			continue
		}
		f := actors.NewFollowerStats(mb.ID)
		for _, have := range st.Followers {
			if have.ID == mb.ID {
				f = have
			}
		}
		fs = append(fs, f)
	}
	// etcd's followers are a JSON object: its keys come sorted as strings.
	sort.Slice(fs, func(i, j int) bool {
		return strconv.FormatUint(fs[i].ID, 16) < strconv.FormatUint(fs[j].ID, 16)
	})
	b := append(make([]byte, 0, 64+160*len(fs)), `{"leader":"`...)
	b = strconv.AppendUint(b, st.ID, 16)
	b = append(b, `","followers":{`...)
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendUint(b, f.ID, 16)
		b = append(b, `":{"latency":{"current":`...)
		b = appendJSONFloat(b, f.Current)
		b = append(b, `,"average":`...)
		b = appendJSONFloat(b, f.Average)
		b = append(b, `,"standardDeviation":`...)
		b = appendJSONFloat(b, f.StdDev)
		b = append(b, `,"minimum":`...)
		b = appendJSONFloat(b, f.Minimum)
		b = append(b, `,"maximum":`...)
		b = appendJSONFloat(b, f.Maximum)
		b = append(b, `},"counts":{"fail":`...)
		b = strconv.AppendUint(b, f.Fail, 10)
		b = append(b, `,"success":`...)
		b = strconv.AppendUint(b, f.Success, 10)
		b = append(b, "}}"...)
	}
	b = append(b, "}}"...)
	ctx.SetContentType(appJSON)
	ctx.SetBody(b)
}

// appendRate renders an omitempty float field.
func appendRate(b []byte, field string, v float64) []byte {
	if v == 0 {
		return b
	}
	return appendJSONFloat(append(b, field...), v)
}

// appendJSONFloat renders a float64 as encoding/json does.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
	st.GetFail += s.authProbes.Load()
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
