package httpfront

import (
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// httpMetrics are etcd's v2http request metrics (etcd_http_*) and its health
// check counters. Many goroutines serve requests, so a series' child is
// looked up once, on its first use (when etcd shows the series too), and
// kept in an atomic slot: a request then costs an atomic load and an add or
// an observation, never a label lookup.
type httpMetrics struct {
	receivedVec *prometheus.CounterVec
	failedVec   *prometheus.CounterVec
	latencyVec  *prometheus.HistogramVec
	received    [nReqMethods]atomic.Pointer[prometheus.Counter]
	latency     [nReqMethods]atomic.Pointer[prometheus.Observer]
	failed      [nReqMethods][len(failCodes)]atomic.Pointer[prometheus.Counter]

	healthOK, healthFailed prometheus.Counter
}

// reqMethod is a keys request as etcd's metrics name it: its HTTP method,
// or QGET for a quorum GET.
type reqMethod uint8

const (
	rmGET reqMethod = iota
	rmQGET
	rmHEAD
	rmPUT
	rmPOST
	rmDELETE
	nReqMethods
)

var reqMethodNames = [nReqMethods]string{"GET", "QGET", "HEAD", "PUT", "POST", "DELETE"}

// failCodes are the statuses a keys request can fail with once parsed.
var failCodes = [...]int{400, 401, 403, 404, 412, 500}

func reqMethodOf(m method, op keyOp) reqMethod {
	switch m {
	case mHEAD:
		return rmHEAD
	case mPUT:
		return rmPUT
	case mPOST:
		return rmPOST
	case mDELETE:
		return rmDELETE
	}
	if op == opQuorumRead {
		return rmQGET
	}
	return rmGET
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		receivedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "http", Name: "received_total",
			Help: "Counter of requests received into the system (successfully parsed and authd).",
		}, []string{"method"}),
		failedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "http", Name: "failed_total",
			Help: "Counter of handle failures of requests (non-watches), by method (GET/PUT etc.) and code (400, 500 etc.).",
		}, []string{"method", "code"}),
		latencyVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "etcd", Subsystem: "http", Name: "successful_duration_seconds",
			Help: "Bucketed histogram of processing time (s) of successfully handled requests (non-watches), by method (GET/PUT etc.).",
			// 0.5 ms to 2.048 s, as etcd's.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 13),
		}, []string{"method"}),
		healthOK: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "server", Name: "health_success",
			Help: "The total number of successful health checks",
		}),
		healthFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "etcd", Subsystem: "server", Name: "health_failures",
			Help: "The total number of failed health checks",
		}),
	}
	reg.MustRegister(m.receivedVec, m.failedVec, m.latencyVec, m.healthOK, m.healthFailed)
	return m
}

// requestReceived counts a parsed keys request that is not a watch.
func (m *httpMetrics) requestReceived(rm reqMethod) {
	p := m.received[rm].Load()
	if p == nil {
		c := m.receivedVec.WithLabelValues(reqMethodNames[rm])
		p = &c
		m.received[rm].Store(p)
	}
	(*p).Inc()
}

// requestDone counts how a parsed keys request ended, from the status it
// was answered with: a failure by method and code (watches too, as etcd
// counts a watch its store refuses), a success's time since start (watches
// never: their time is the client's to choose).
func (m *httpMetrics) requestDone(rm reqMethod, status int, watch bool, start time.Time) {
	if status < 400 {
		if !watch {
			m.latencyOf(rm).Observe(time.Since(start).Seconds())
		}
		return
	}
	for i, code := range failCodes {
		if code == status {
			p := m.failed[rm][i].Load()
			if p == nil {
				c := m.failedVec.WithLabelValues(reqMethodNames[rm], strconv.Itoa(code))
				p = &c
				m.failed[rm][i].Store(p)
			}
			(*p).Inc()
			return
		}
	}
	m.failedVec.WithLabelValues(reqMethodNames[rm], strconv.Itoa(status)).Inc()
}

func (m *httpMetrics) latencyOf(rm reqMethod) prometheus.Observer {
	p := m.latency[rm].Load()
	if p == nil {
		o := m.latencyVec.WithLabelValues(reqMethodNames[rm])
		p = &o
		m.latency[rm].Store(p)
	}
	return *p
}

// metricsHandler serves g in Prometheus' text format, as etcd's /metrics
// does (promhttp, with its own promhttp_metric_handler_* counters in reg).
func metricsHandler(reg prometheus.Registerer, g prometheus.Gatherer) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(g, promhttp.HandlerOpts{})))
}

// ServeMetrics answers etcd's metrics listener (--listen-metrics-urls) on
// ln until Shutdown: /metrics and /health, nothing else, without the
// client URLs' CORS headers.
func (s *Server) ServeMetrics(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	err := s.msrv.Serve(ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (s *Server) handleMetricsPort(ctx *fasthttp.RequestCtx) {
	var tg target
	if !tg.parse(ctx.Request.Header.RequestURI()) {
		badRequest(ctx)
		return
	}
	switch route(tg.escaped) {
	case routeMetrics:
		s.metrics(ctx)
	case routeHealth:
		s.serveHealth(ctx, methodOf(ctx.Method()))
	default:
		if !s.serveProbe(ctx, tg.escaped) {
			httpError(ctx, fasthttp.StatusNotFound, "404 page not found")
		}
	}
}
