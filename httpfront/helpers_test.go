package httpfront

import (
	"bufio"
	"cmp"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront/internal/wiretest"
)

// testNow is the fake clock of every test server.
const testNow int64 = 1_700_000_000_123_456_789

const (
	testSelfID    = 0xbe8945f178813b5d
	testClusterID = 0x8c69a9a8e935cdcd
)

var testSelf = Member{ID: testSelfID, Name: "ref", PeerURLs: []string{"http://127.0.0.1:2380"}, ClientURLs: []string{"http://127.0.0.1:2379"}}

// log records copies of what a fake actor received.
type msgLog struct {
	mu   sync.Mutex
	msgs []any
}

func (l *msgLog) add(m any) {
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
}

func (l *msgLog) reset() {
	l.mu.Lock()
	l.msgs = nil
	l.mu.Unlock()
}

func (l *msgLog) all() []any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]any(nil), l.msgs...)
}

// fake is a tiny actor: it records a copy of every message and lets the test
// answer it. A nil answer function leaves the message unanswered.
type fake struct {
	log    *msgLog
	answer func(ctx actor.Context, m any)
}

func (f *fake) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Read:
		c := *m
		c.Body, c.Done = nil, nil
		f.log.add(&c)
	case *actors.Propose:
		c := *m
		c.Done = nil
		f.log.add(&c)
	case *actors.Watch:
		c := *m
		f.log.add(&c)
	case *actors.Unwatch:
		c := *m
		f.log.add(&c)
	case *actors.StatusAsk, *actors.StoreStatsAsk, *actors.WatcherCountAsk, *actors.MemberChange, *actors.RaftStatusAsk:
		f.log.add(m)
	default:
		return
	}
	if f.answer != nil {
		f.answer(ctx, ctx.Message())
	}
}

// harness is a front end on a real listener with fake raft, tree and hub
// actors behind it.
type harness struct {
	t               *testing.T
	sys             *actor.ActorSystem
	srv             *Server
	addr            string
	raft, tree, hub *msgLog
	raftF, treeF    *fake
	hubF            *fake
	pids            actors.PIDs
	serveDone       chan error
	status          actors.Status
	stats           actors.StoreStats
	watchers        uint64
	mu              sync.Mutex
	sinks           map[uint64]actors.WatchSink
	onWatch         func(w *actors.Watch)
	onPropose       func(p *actors.Propose)
	onRead          func(r *actors.Read)
	quorumFails     bool
	silentRaft      bool
	silentHub       bool
	membersOverride []Member
	onMemberChange  func(*actors.MemberChange) // nil: every change is done as asked
	requestTimeout  time.Duration
	watchMaxWait    time.Duration
	maxBody         int
	cors            []string
	hosts           []string
	metrics         *prometheus.Registry
}

type option func(*harness)

func withRegistry(reg *prometheus.Registry) option { return func(h *harness) { h.metrics = reg } }

func withTimeout(d time.Duration) option { return func(h *harness) { h.requestTimeout = d } }
func withMaxWait(d time.Duration) option { return func(h *harness) { h.watchMaxWait = d } }
func withMaxBody(n int) option           { return func(h *harness) { h.maxBody = n } }
func withCORS(origins ...string) option  { return func(h *harness) { h.cors = origins } }
func withHosts(hosts ...string) option   { return func(h *harness) { h.hosts = hosts } }
func withMembers(ms ...Member) option    { return func(h *harness) { h.membersOverride = ms } }
func withStatus(st actors.Status) option { return func(h *harness) { h.status = st } }
func withPropose(f func(*actors.Propose)) option {
	return func(h *harness) { h.onPropose = f }
}
func withRead(f func(*actors.Read)) option { return func(h *harness) { h.onRead = f } }
func withWatch(f func(*actors.Watch)) option {
	return func(h *harness) { h.onWatch = f }
}
func silentRaft() option    { return func(h *harness) { h.silentRaft = true } }
func silentHub() option     { return func(h *harness) { h.silentHub = true } }
func failingQuorum() option { return func(h *harness) { h.quorumFails = true } }
func withStats(st actors.StoreStats, watchers uint64) option {
	return func(h *harness) { h.stats, h.watchers = st, watchers }
}

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		raft:  &msgLog{},
		tree:  &msgLog{},
		hub:   &msgLog{},
		sinks: map[uint64]actors.WatchSink{},
		status: actors.Status{
			ID: testSelfID, Lead: testSelfID, Term: 2, Commit: 9, Applied: 9, IsLeader: true,
			StartTime: 1_699_999_900_000_000_001, LeaderSince: 1_699_999_990_000_000_000,
		},
		requestTimeout: 2 * time.Second,
		watchMaxWait:   5 * time.Second,
	}
	for _, o := range opts {
		o(h)
	}
	h.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }))
	h.treeF = &fake{log: h.tree, answer: h.answerTree}
	h.raftF = &fake{log: h.raft, answer: h.answerRaft}
	h.hubF = &fake{log: h.hub, answer: h.answerHub}
	spawn := func(f *fake) *actor.PID {
		return h.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return f }))
	}
	h.pids = actors.PIDs{Tree: spawn(h.treeF), Raft: spawn(h.raftF), Hub: spawn(h.hubF)}
	if h.status.Members == nil {
		members := h.membersOverride
		if members == nil {
			members = []Member{testSelf}
		}
		members = slices.Clone(members)
		slices.SortFunc(members, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
		h.status.Members = members
	}
	h.srv = New(Config{
		PIDs:           h.pids,
		Root:           h.sys.Root,
		Log:            zerolog.Nop(),
		Self:           testSelf,
		ClusterID:      testClusterID,
		MaxBodyBytes:   h.maxBody,
		CORS:           h.cors,
		HostWhitelist:  h.hosts,
		RequestTimeout: h.requestTimeout,
		WatchMaxWait:   h.watchMaxWait,
		Now:            func() int64 { return testNow },
		Metrics:        h.metrics,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	h.serveDone = make(chan error, 1)
	go func() { h.serveDone <- h.srv.Serve(ln) }()
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	if err := h.srv.Shutdown(); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	select {
	case err := <-h.serveDone:
		if err != nil {
			h.t.Errorf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		h.t.Errorf("Serve did not return after Shutdown")
	}
	h.sys.Shutdown()
}

func (h *harness) answerTree(_ actor.Context, m any) {
	switch m := m.(type) {
	case *actors.Read:
		if h.onRead != nil {
			h.onRead(m)
		} else {
			m.Err = actors.NewError(actors.EcodeKeyNotFound, m.Path, 7)
		}
		m.Done <- m
	case *actors.StoreStatsAsk:
		m.Stats = h.stats
		m.Done <- m
	}
}

func (h *harness) answerRaft(ctx actor.Context, m any) {
	if h.silentRaft {
		return
	}
	switch m := m.(type) {
	case *actors.Propose:
		if h.onPropose != nil {
			h.onPropose(m)
		} else {
			m.Event = &actors.Event{Action: actors.ActionSet, Index: 8, Node: &actors.Node{Key: m.Cmd.Path, Value: m.Cmd.Value, ModifiedIndex: 8, CreatedIndex: 8}}
		}
		m.RaftIndex, m.RaftTerm = 11, 2
		m.Done <- m
	case *actors.Read:
		if h.quorumFails {
			m.Err = actors.NewError(actors.EcodeRaftInternal, "etcdserver: no leader", 0)
			m.Done <- m
			return
		}
		ctx.Send(h.pids.Tree, m)
	case *actors.StatusAsk:
		m.Status = h.status
		m.Done <- m
	case *actors.RaftStatusAsk:
		m.JSON = []byte(`{"id":"` + strconv.FormatUint(h.status.ID, 16) + `","raftState":"StateLeader"}`)
		m.Done <- m
	case *actors.MemberChange:
		if h.onMemberChange != nil {
			h.onMemberChange(m)
		}
		m.Done <- m
	}
}

func (h *harness) answerHub(_ actor.Context, m any) {
	if h.silentHub {
		return
	}
	switch m := m.(type) {
	case *actors.Watch:
		h.mu.Lock()
		h.sinks[m.ID] = m.Sink
		h.mu.Unlock()
		if h.onWatch != nil {
			h.onWatch(m)
		} else {
			m.Sink.Deliver(ack(7))
		}
	case *actors.WatcherCountAsk:
		m.Count = h.watchers
		m.Done <- m
	}
}

// ack is the hub's acknowledgment of a watch registered at etcd index i.
func ack(i uint64) *actors.WatchEvent {
	return &actors.WatchEvent{EtcdIndex: i, HistoryStart: 1, RaftIndex: 9, RaftTerm: 2}
}

// forget clears what the fakes recorded, so one harness serves a table of
// cases.
func (h *harness) forget() {
	h.raft.reset()
	h.tree.reset()
	h.hub.reset()
}

// sink waits for the n-th watch registration and returns its sink.
func (h *harness) sink(n int) (*actors.Watch, actors.WatchSink) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var ws []*actors.Watch
		for _, m := range h.hub.all() {
			if w, ok := m.(*actors.Watch); ok {
				ws = append(ws, w)
			}
		}
		if len(ws) >= n {
			w := ws[n-1]
			h.mu.Lock()
			s := h.sinks[w.ID]
			h.mu.Unlock()
			if s != nil {
				return w, s
			}
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("no watch #%d registered", n)
	return nil, nil
}

// waitFor polls cond for up to 5 s.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	wiretest.WaitFor(h.t, what, cond)
}

// proposals returns the commands the raft actor was asked to apply.
func (h *harness) proposals() []actors.Command {
	var out []actors.Command
	for _, m := range h.raft.all() {
		if p, ok := m.(*actors.Propose); ok {
			out = append(out, p.Cmd)
		}
	}
	return out
}

// reads returns the reads an actor received.
func reads(l *msgLog) []*actors.Read {
	var out []*actors.Read
	for _, m := range l.all() {
		if r, ok := m.(*actors.Read); ok {
			out = append(out, r)
		}
	}
	return out
}

func unwatches(l *msgLog) []uint64 {
	var out []uint64
	for _, m := range l.all() {
		if u, ok := m.(*actors.Unwatch); ok {
			out = append(out, u.ID)
		}
	}
	return out
}

// response is one raw HTTP answer.
type response struct {
	status int
	header http.Header
	body   string
}

// dial connects to the server, with a deadline for the whole test's
// exchange; the connection closes with the test.
func (h *harness) dial() net.Conn {
	h.t.Helper()
	return wiretest.Dial(h.t, h.addr)
}

// do sends one raw request (the target exactly as given, no client-side
// cleaning) and reads the whole answer.
func (h *harness) do(method, target string, hdrs map[string]string, body string) *response {
	h.t.Helper()
	conn := h.dial()
	defer conn.Close()
	resp, err := roundTrip(conn, method, target, hdrs, body)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading body: %v", method, target, err)
	}
	if resp.Close {
		resp.Header.Set("Connection", "close")
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func roundTrip(conn net.Conn, method, target string, hdrs map[string]string, body string) (*http.Response, error) {
	var sb strings.Builder
	sb.WriteString(method + " " + target + " HTTP/1.1\r\n")
	if _, ok := hdrs["Host"]; !ok {
		sb.WriteString("Host: test\r\n")
	}
	for k, v := range hdrs {
		sb.WriteString(k + ": " + v + "\r\n")
	}
	if body != "" || method == "PUT" || method == "POST" {
		sb.WriteString("Content-Length: " + itoa(len(body)) + "\r\n")
	}
	sb.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, sb.String()); err != nil {
		return nil, err
	}
	return http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// form is the header of a urlencoded body.
var formHdr = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

func (h *harness) get(target string) *response { return h.do("GET", target, nil, "") }

// expect checks status, body and the listed headers ("" means absent).
func expect(t *testing.T, what string, r *response, status int, body string, hdrs map[string]string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d (body %q)", what, r.status, status, r.body)
	}
	if r.body != body {
		t.Errorf("%s: body\n got %q\nwant %q", what, r.body, body)
	}
	for k, want := range hdrs {
		got, ok := r.header[http.CanonicalHeaderKey(k)]
		switch {
		case want == "" && ok:
			t.Errorf("%s: header %s = %q, want none", what, k, got)
		case want != "" && (!ok || len(got) != 1 || got[0] != want):
			t.Errorf("%s: header %s = %q, want %q", what, k, got, want)
		}
	}
}

// newCtx builds a request context for driving the handler without a
// listener.
func newCtx(method, uri, ctype, body string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod(method)
	ctx.Request.Header.SetRequestURI(uri)
	if ctype != "" {
		ctx.Request.Header.SetContentType(ctype)
	}
	if body != "" {
		ctx.Request.SetBodyString(body)
	}
	return ctx
}
