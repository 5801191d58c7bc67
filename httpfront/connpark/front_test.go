package connpark

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront/internal/wiretest"
)

// front stands in for the server the engine serves: a fasthttp server set
// up as httpfront's is (the intake renders answers as that setup does), and
// a handler that parks a GET of /v2/keys asking wait=true, as httpfront's
// does once the hub acknowledged, and answers the rest as a key that is not
// there. The engine's tests need no more of etcd than that.
type front struct {
	t       *testing.T
	e       *Engine
	srv     *fasthttp.Server
	ln      net.Listener
	addr    string
	closing chan struct{}
	served  chan error

	// hold makes each watch wait that long for a hub that never answers,
	// then answer etcd's timeout.
	hold time.Duration
	// early is the event every one-shot finds in the history at once.
	early *actors.Event
	// answer, if set, answers a request first; true: it did.
	answer func(ctx *fasthttp.RequestCtx) bool

	mu        sync.Mutex
	watches   []frontWatch
	unwatched []uint64
}

// frontWatch is a watch the front registered, as a hub would see it.
type frontWatch struct {
	w          *Watch
	sinceIndex uint64
}

func newFront(t *testing.T, cfg Config, opts ...func(*front)) *front {
	t.Helper()
	f := &front{t: t, closing: make(chan struct{}), served: make(chan error, 1)}
	for _, o := range opts {
		o(f)
	}
	f.srv = &fasthttp.Server{
		Handler:                      f.Handle,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		ReadBufferSize:               8 << 10,
		IdleTimeout:                  5 * time.Minute,
		ReadTimeout:                  time.Minute,
		WriteTimeout:                 time.Minute,
		CloseOnShutdown:              true,
		KeepHijackedConns:            true,
		Logger:                       nopLogger{},
	}
	if cfg.IdleLimit == 0 {
		cfg.IdleLimit = f.srv.IdleTimeout
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 5 * time.Second
	}
	cfg.Log, cfg.CtxLog, cfg.Closing = zerolog.Nop(), f.srv.Logger, f.closing
	f.e = New(f, cfg)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = inner.Addr().String()
	f.ln = f.e.Listen(inner)
	go func() { f.served <- f.srv.Serve(f.ln) }()
	t.Cleanup(f.close)
	return f
}

func withHold(d time.Duration) func(*front) { return func(f *front) { f.hold = d } }
func withEarly(ev *actors.Event) func(*front) {
	return func(f *front) { f.early = ev }
}

// close shuts down as httpfront's Shutdown does.
func (f *front) close() {
	close(f.closing)
	if err := f.srv.Shutdown(); err != nil {
		f.t.Errorf("shutdown: %v", err)
	}
	f.ln.Close()
	select {
	case err := <-f.served:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			f.t.Errorf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		f.t.Errorf("Serve did not return after Shutdown")
	}
}

func (f *front) ServeConn(c net.Conn) error { return f.srv.ServeConn(c) }

func (f *front) Unwatch(id uint64) {
	f.mu.Lock()
	f.unwatched = append(f.unwatched, id)
	f.mu.Unlock()
}

var keysPrefix = []byte("/v2/keys")

func (f *front) Handle(ctx *fasthttp.RequestCtx) {
	if f.answer != nil && f.answer(ctx) {
		return
	}
	path := ctx.Path()
	if string(path) == "/version" {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"etcdserver":"3.5.35","etcdcluster":"3.5.0"}`)
		return
	}
	args := ctx.QueryArgs()
	if !bytes.HasPrefix(path, keysPrefix) || string(args.Peek("wait")) != "true" {
		keyError(ctx, actors.NewError(actors.EcodeKeyNotFound, string(path[len(keysPrefix):]), 7))
		return
	}
	f.watch(ctx, string(args.Peek("stream")) == "true", uint64(args.GetUintOrZero("waitIndex")))
}

func (f *front) watch(ctx *fasthttp.RequestCtx, stream bool, since uint64) {
	pw := f.e.NewWatch(stream)
	if f.hold > 0 {
		f.register(pw, since)
		time.Sleep(f.hold)
		pw.Abandon()
		f.Unwatch(pw.ID())
		keyError(ctx, actors.NewError(actors.EcodeRaftInternal, "etcdserver: request timed out", 0))
		return
	}
	pw.Deliver(&actors.WatchEvent{EtcdIndex: 7, HistoryStart: 1}) // the hub's acknowledgment
	if f.early != nil {
		pw.Deliver(&actors.WatchEvent{Event: f.early, EtcdIndex: 7})
	}
	<-pw.First()
	f.register(pw, since)
	ctx.SetContentType("application/json")
	if !stream {
		if ev := pw.TakeEarly(); ev != nil {
			ctx.SetBody(ev.AppendJSON(nil, ev.At, false))
			return
		}
	}
	h := &ctx.Response.Header
	var chunked, keep bool
	if ctx.Request.Header.IsHTTP11() {
		h.SetContentLength(-1)
		chunked = true
		keep = !ctx.Request.Header.ConnectionClose()
	}
	if !keep {
		h.SetConnectionClose()
	}
	pw.ParkAfter(ctx, chunked, keep, h.AppendBytes)
}

func (f *front) register(pw *Watch, since uint64) {
	f.mu.Lock()
	f.watches = append(f.watches, frontWatch{pw, since})
	f.mu.Unlock()
}

func keyError(ctx *fasthttp.RequestCtx, e *actors.Error) {
	ctx.SetStatusCode(e.Status())
	ctx.SetContentType("application/json")
	ctx.SetBody(e.AppendJSON(nil))
}

// registered is how many watches the front registered.
func (f *front) registered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watches)
}

// sink waits for the n-th watch registration and returns it.
func (f *front) sink(n int) frontWatch {
	f.t.Helper()
	f.waitFor("watch #"+strconv.Itoa(n)+" registered", func() bool { return f.registered() >= n })
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches[n-1]
}

func (f *front) dial() net.Conn { f.t.Helper(); return wiretest.Dial(f.t, f.addr) }

func (f *front) waitFor(what string, cond func() bool) {
	f.t.Helper()
	wiretest.WaitFor(f.t, what, cond)
}

func (f *front) get(target string) int {
	f.t.Helper()
	var req fasthttp.Request
	var resp fasthttp.Response
	req.SetRequestURI("http://" + f.addr + target)
	if err := fasthttp.DoTimeout(&req, &resp, 5*time.Second); err != nil {
		f.t.Fatalf("GET %s: %v", target, err)
	}
	return resp.StatusCode()
}

func testEvent(i uint64) *actors.Event { return wiretest.Event(i) }

func eventJSON(i uint64) string { return wiretest.EventJSON(i, 0) }
