package httpfront

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront/connpark"
)

// Versions reported by /version: the etcd release whose v2 API is served, and
// the cluster version a settled 3.5 cluster reports.
const (
	ServerVersion  = "3.5.35"
	ClusterVersion = "3.5.0"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBodyBytes = 10 << 20 // net/http's ParseForm limit, which etcd relies on
	// MaxOtherBodyBytes bounds a body that is not a form. etcd never reads
	// one (net/http discards it) and answers whatever its size; fasthttp
	// holds a body whole, so some bound is needed: far above what a client
	// of the v2 API sends.
	MaxOtherBodyBytes     = 64 << 20
	DefaultRequestTimeout = 7 * time.Second
	DefaultWatchMaxWait   = 5 * time.Minute
)

// Member is one member of the cluster as /v2/members shows it.
type Member = actors.Member

// Config is what the front needs from the member.
type Config struct {
	PIDs           actors.PIDs // Raft: Propose, quorum Read, StatusAsk; Tree: Read, StoreStatsAsk; Hub: Watch, Unwatch, WatcherCountAsk
	Root           *actor.RootContext
	Log            zerolog.Logger
	Self           Member // this member
	ClusterID      uint64
	MaxBodyBytes   int           // largest form body of a PUT or POST; 0: DefaultMaxBodyBytes
	RequestTimeout time.Duration // longest wait for an actor's answer; 0: DefaultRequestTimeout
	WatchMaxWait   time.Duration // server-side cap of a long poll; 0: DefaultWatchMaxWait
	Now            func() int64  // clock in unix nanoseconds; nil: time.Now
	EnablePprof    bool          // serve /debug/pprof/ (etcd's --enable-pprof)
	// CORS are the origins whose requests get CORS headers naming them
	// (etcd's --cors); empty, or holding "*": every answer gets them for "*".
	CORS []string
	// HostWhitelist are the host names requests may name in their Host
	// header (etcd's --host-whitelist); empty, or holding "*": any.
	HostWhitelist []string
	// Metrics is the member's registry: the front registers its own
	// metrics there and serves all of it at /metrics. nil: a registry of
	// the front's metrics alone.
	Metrics *prometheus.Registry
}

// Server is the HTTP front end of one member.
type Server struct {
	root    *actor.RootContext
	pids    actors.PIDs
	log     zerolog.Logger
	now     func() int64
	fixed   bool // now is a test's clock, not time.Now
	timeout time.Duration
	maxWait time.Duration
	pprof   bool
	maxBody int
	// corsOrigins is nil when every origin is allowed (the default): the
	// answer then gets the "*" headers without looking at the request.
	corsOrigins map[string]struct{}
	hosts       map[string]struct{} // nil: every Host is served
	self        Member
	cluster     []byte // cluster id in lowercase hex

	srv     *fasthttp.Server
	closing chan struct{} // closed by Shutdown: long polls end at once

	// authProbes counts the failed gets etcd's v2 auth adds: every keys
	// request it admits, and every change of the membership, first reads
	// /2/enabled from the store, which is not there (auth.go).
	authProbes atomic.Uint64
	m          *httpMetrics
	metrics    fasthttp.RequestHandler // /metrics
	msrv       *fasthttp.Server        // the --listen-metrics-urls listeners'

	// park keeps the connections that wait: for a request, or parked in a
	// long poll.
	park   *connpark.Engine
	mu     sync.Mutex
	closed bool
	lns    []net.Listener
}

// host is the server as its connection engine sees it.
type host Server

func (h *host) Handle(ctx *fasthttp.RequestCtx) { (*Server)(h).handle(ctx) }
func (h *host) ServeConn(c net.Conn) error      { return h.srv.ServeConn(c) }
func (h *host) Unwatch(id uint64)               { (*Server)(h).unwatch(id) }

// New makes a front end; call Serve to start answering.
func New(cfg Config) *Server {
	s := &Server{
		root:    cfg.Root,
		pids:    cfg.PIDs,
		log:     cfg.Log,
		now:     cfg.Now,
		timeout: cfg.RequestTimeout,
		maxWait: cfg.WatchMaxWait,
		pprof:   cfg.EnablePprof,
		maxBody: cfg.MaxBodyBytes,
		self:    cfg.Self,
		cluster: []byte(strconv.FormatUint(cfg.ClusterID, 16)),
		closing: make(chan struct{}),
	}
	s.fixed = s.now != nil
	if s.now == nil {
		s.now = func() int64 { return time.Now().UnixNano() }
	}
	s.corsOrigins = allowSet(cfg.CORS)
	s.hosts = allowSet(cfg.HostWhitelist)
	if s.timeout <= 0 {
		s.timeout = DefaultRequestTimeout
	}
	if s.maxWait <= 0 {
		s.maxWait = DefaultWatchMaxWait
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	reg := cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.m = newHTTPMetrics(reg)
	s.metrics = metricsHandler(reg, reg)

	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          s.handleTransportError,
		HeaderReceived:        s.bodyLimit,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		MaxRequestBodySize:    MaxOtherBodyBytes,
		// etcd never reads multipart bodies; fasthttp must not either.
		DisablePreParseMultipartForm: true,
		ReadBufferSize:               8 << 10,
		// etcd's ReadTimeout; connections waiting in the engine's epoll set
		// close after it too.
		IdleTimeout:     5 * time.Minute,
		ReadTimeout:     time.Minute,
		WriteTimeout:    time.Minute,
		CloseOnShutdown: true,
		// Parked watches own their hijacked connections (package connpark).
		KeepHijackedConns: true,
		Logger:            fasthttpLogger{s.log},
	}
	s.msrv = &fasthttp.Server{
		Handler:               s.handleMetricsPort,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		ReadTimeout:           time.Minute,
		WriteTimeout:          time.Minute,
		IdleTimeout:           5 * time.Minute,
		CloseOnShutdown:       true,
		Logger:                s.srv.Logger,
	}
	s.park = connpark.New((*host)(s), connpark.Config{
		Log:       s.log,
		CtxLog:    s.srv.Logger,
		IdleLimit: s.srv.IdleTimeout,
		MaxWait:   s.maxWait,
		Closing:   s.closing,
	})
	return s
}

// Serve answers requests from ln until Shutdown; it may be called for
// several listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
	ln = s.park.Listen(ln)
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	err := s.srv.Serve(ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// ShutdownGrace is how long Shutdown waits for the requests in flight. A
// client that sent half a request would otherwise hold the member's exit for
// the whole read timeout; past the grace its connection is left to die with
// the process (the actors still answer or fail every request they hold).
const ShutdownGrace = 2 * time.Second

// Shutdown stops accepting, ends the long polls, and waits at most
// ShutdownGrace for the requests in flight to finish.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	lns := s.lns
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := s.srv.ShutdownWithContext(ctx)
	if merr := s.msrv.ShutdownWithContext(ctx); err == nil {
		err = merr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn().Dur("grace", ShutdownGrace).Msg("requests still open after the shutdown grace: left unanswered")
		err = nil
	}
	// A Serve that had not handed its listener to fasthttp yet stops here.
	for _, ln := range lns {
		if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	return err
}

// nowAt is the request's clock in unix nanoseconds, given the time the
// request started: a clock read is dear on some machines, and a keys
// request needs one for its latency anyway.
func (s *Server) nowAt(start time.Time) int64 {
	if s.fixed {
		return s.now()
	}
	return start.UnixNano()
}

// Handler is the request handler, for tests that drive it without a listener.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// handle does what etcd's stack of http handlers does, in its order: the
// server parses the request target, the access controller checks the Host
// header, writes the CORS headers and answers OPTIONS, the
// ServeMux cleans the path and routes.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	if !speakHTTP(ctx) {
		return
	}
	rq := getRequest()
	defer putRequest(rq)
	if !rq.target.parse(ctx.Request.Header.RequestURI()) {
		badRequest(ctx)
		return
	}
	if s.hosts != nil && !s.hostAllowed(ctx) {
		return
	}
	s.setCORS(ctx)
	method := methodOf(ctx.Method())
	if method == mOPTIONS {
		ctx.SetStatusCode(fasthttp.StatusOK)
		return
	}
	if cleaned, ok := rq.target.clean(); !ok {
		redirect(ctx, method, cleaned, rq.target.query)
		return
	}
	switch route(rq.target.escaped) {
	case routeKeys:
		s.serveKeys(ctx, rq, method)
	case routeMembers:
		s.serveMembers(ctx, rq, method)
	case routeMachines:
		s.serveMachines(ctx, method)
	case routeStatsStore:
		s.serveStatsStore(ctx, method)
	case routeStatsSelf:
		s.serveStatsSelf(ctx, method)
	case routeStatsLeader:
		s.serveStatsLeader(ctx, method)
	case routeVersion:
		s.serveVersion(ctx, method)
	case routeHealth:
		s.serveHealth(ctx, method)
	case routeMetrics:
		s.metrics(ctx)
	case routeDebugVars:
		s.serveDebugVars(ctx, method)
	default:
		if bytes.Equal(rq.target.escaped, backupPath) {
			s.serveBackup(ctx, method)
			return
		}
		if s.pprof && bytes.HasPrefix(rq.target.escaped, debugPprof) {
			pprofhandler.PprofHandler(ctx)
			return
		}
		httpError(ctx, fasthttp.StatusNotFound, "404 page not found")
	}
}

var debugPprof = []byte("/debug/pprof/")

// handleTransportError answers what fasthttp rejects before any handler runs.
// A body over the limit gets the error etcd gives for a form that is too
// large; the rest get net/http's plain answers.
func (s *Server) handleTransportError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.setCORS(ctx)
		ctx.Response.Header.SetBytesV(hdrClusterID, s.cluster)
		s.writeKeyError(ctx, actors.NewError(actors.EcodeInvalidForm, "http: POST too large", 0))
	case isUnsupportedTE(err):
		notImplementedTE(ctx)
	case errors.As(err, &small):
		ctx.SetStatusCode(fasthttp.StatusRequestHeaderFieldsTooLarge)
		ctx.SetContentType(textPlain)
		ctx.SetBodyString("431 Request Header Fields Too Large")
	default:
		badRequest(ctx)
	}
	s.log.Debug().Err(err).Msg("request rejected before routing")
}

// bodyLimit is the limit etcd puts on a request's body, decided from its
// headers: only a PUT or POST form is read (by net/http's ParseForm, up to
// 10 MiB); any other body is left unread, so etcd takes it whatever its size.
// A form a little over the limit is read whole and refused by the handler
// on a connection that stays open, as net/http does after discarding up to
// formDiscard bytes of what ParseForm left; a bigger one fasthttp refuses
// from its Content-Length, and the connection closes.
func (s *Server) bodyLimit(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	switch methodOf(h.Method()) {
	case mPUT, mPOST:
		if form, _ := bodyIsForm(h.ContentType()); form {
			return fasthttp.RequestConfig{MaxRequestBodySize: s.maxBody + formDiscard}
		}
	}
	return fasthttp.RequestConfig{}
}

// formDiscard is how much of an unread body net/http discards to keep a
// connection open.
const formDiscard = 256 << 10

// fasthttpLogger sends fasthttp's own complaints to the member's log.
type fasthttpLogger struct{ log zerolog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn().Msgf("fasthttp: "+format, args...)
}
