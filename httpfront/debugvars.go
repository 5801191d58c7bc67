package httpfront

import (
	"expvar"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

// serveDebugVars is etcd's /debug/vars: the process's expvar variables
// (cmdline, memstats and whatever else is published) and etcd's own two,
// file_descriptor_limit and raft.status, in expvar's layout and key order.
// etcd publishes raft.status process-wide; here it is this member's, asked
// of its raft actor, so members sharing a process each show their own.
func (s *Server) serveDebugVars(ctx *fasthttp.RequestCtx, m method) {
	if m != mGET {
		methodNotAllowed(ctx, "GET")
		return
	}
	type kv struct{ key, value string }
	var vars []kv
	expvar.Do(func(v expvar.KeyValue) { vars = append(vars, kv{v.Key, v.Value.String()}) })
	own := []kv{{"raft.status", string(s.raftStatusJSON())}}
	if n, ok := fdLimit(); ok {
		own = append(own, kv{"file_descriptor_limit", strconv.FormatUint(n, 10)})
	}
	for _, o := range own {
		if !slices.ContainsFunc(vars, func(v kv) bool { return v.key == o.key }) {
			vars = append(vars, o)
		}
	}
	slices.SortFunc(vars, func(a, b kv) int { return strings.Compare(a.key, b.key) })
	b := append(make([]byte, 0, 4<<10), "{\n"...)
	for i, v := range vars {
		if i > 0 {
			b = append(b, ",\n"...)
		}
		b = strconv.AppendQuote(b, v.key)
		b = append(b, ": "...)
		b = append(b, v.value...)
	}
	b = append(b, "\n}\n"...)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

// raftStatusJSON is the raft actor's rendering of raft's status; null if it
// does not answer in time, as etcd's is before its raft runs.
func (s *Server) raftStatusJSON() []byte {
	a := &actors.RaftStatusAsk{Done: make(chan *actors.RaftStatusAsk, 1)}
	t := getTimer(s.timeout)
	ok := s.send(s.pids.Raft, a) && await(a.Done, t)
	putTimer(t)
	if !ok {
		return []byte("null")
	}
	return a.JSON
}
