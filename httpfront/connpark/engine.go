package connpark

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// Host is what the engine needs from the HTTP server in front of it.
type Host interface {
	// Handle answers a request: the server's fasthttp handler, which the
	// intake runs on contexts of its own.
	Handle(ctx *fasthttp.RequestCtx)
	// ServeConn hands c to fasthttp, which serves it until its client is
	// done and then closes it.
	ServeConn(c net.Conn) error
	// Unwatch tells whoever delivers to a watch (the hub) that it is over.
	Unwatch(id uint64)
}

// DefaultIntakeQueue is Config.IntakeQueue's zero value: a crowd of
// watchers attaching at once fits.
const DefaultIntakeQueue = 8192

// Config is the engine's limits, which are the server's.
type Config struct {
	Log zerolog.Logger // the engine's own reports
	// CtxLog is the Logger of the request contexts the intake makes: the
	// one fasthttp gives its own (nil: a handler's logging goes nowhere).
	CtxLog fasthttp.Logger
	// IdleLimit closes a connection that waits that long for a request, as
	// fasthttp's IdleTimeout would: the server's IdleTimeout. 0: never.
	IdleLimit time.Duration
	// MaxWait ends a parked watch without an event (WatchMaxWait).
	MaxWait time.Duration
	// Closing is closed when the server shuts down: parked watches end and
	// their connections close.
	Closing <-chan struct{}
	// IntakeQueue is how many long polls may wait for an intake worker;
	// past it fasthttp serves them. 0: DefaultIntakeQueue.
	IntakeQueue int
}

// Engine keeps one server's waiting connections: its ready listeners' epoll
// sets and its lot of parked watches.
type Engine struct {
	host        Host
	log         zerolog.Logger
	ctxLog      fasthttp.Logger
	idleLimit   time.Duration
	maxWait     time.Duration
	closing     <-chan struct{}
	intakeQueue int

	table atomic.Value // connTable: where connections wait between requests, if anywhere
	ids   atomic.Uint64

	// lot's goroutines start with the first watch, so a server that is
	// never watched runs none of them.
	lotOnce sync.Once
	lot     lot

	// renderings holds the recent events' renderings, by index, shared by
	// every watcher an event reaches (watchwrite.go).
	renderings [256]atomic.Pointer[rendering]
}

// New makes the engine for host; a nil host only keeps connections
// waiting, handing each to Accept when it has something to read.
func New(host Host, cfg Config) *Engine {
	e := &Engine{
		host:        host,
		log:         cfg.Log,
		ctxLog:      cfg.CtxLog,
		idleLimit:   cfg.IdleLimit,
		maxWait:     cfg.MaxWait,
		closing:     cfg.Closing,
		intakeQueue: cfg.IntakeQueue,
	}
	if e.ctxLog == nil {
		e.ctxLog = nopLogger{}
	}
	if e.intakeQueue <= 0 {
		e.intakeQueue = DefaultIntakeQueue
	}
	e.lot.e = e
	e.lot.queue.cond.L = &e.lot.queue.mu
	return e
}

// Listen wraps ln so its connections wait in an epoll set between requests;
// where epoll cannot be had it returns ln itself. Connections whose long
// poll is over wait in the first listener's set, whichever listener they
// came from.
func (e *Engine) Listen(ln net.Listener) net.Listener {
	ln = listenReady(ln, e)
	if t, ok := ln.(connTable); ok {
		e.table.CompareAndSwap(nil, t)
	}
	return ln
}

// connTable is the epoll set where connections wait between requests and
// parked watches wait for their clients' hang-ups (readyln_linux.go).
type connTable interface {
	rearm(c net.Conn, fd int) // c's response is complete: wait for its next request
	parked(pw *Watch)         // pw.conn is a parked watch's now; pw.mu is held
	unparked(pw *Watch)       // pw's watch is over; pw.mu is held
	drop(c net.Conn, fd int)  // c leaves: it closes, or fasthttp serves it
}

// conns returns the engine's connection table; nil without one.
func (e *Engine) conns() connTable {
	t, _ := e.table.Load().(connTable)
	return t
}

// NewWatch makes a watch, with an id of its own, to register with the hub
// as its sink and park once its headers are rendered.
func (e *Engine) NewWatch(stream bool) *Watch {
	return newWatch(e.parking(), e.ids.Add(1), stream)
}

// Parked is how many watches are parked now.
func (e *Engine) Parked() int { return e.lot.parked() }

// parking returns the lot, starting its goroutines the first time.
func (e *Engine) parking() *lot {
	e.lotOnce.Do(e.lot.start)
	return &e.lot
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
