package httpfront

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors"
)

// benchTree answers every read as the tree actor does: with a view the
// asker renders the same node from.
type benchTree struct{ view bodyView }

func (b *benchTree) Receive(ctx actor.Context) {
	if r, ok := ctx.Message().(*actors.Read); ok {
		r.View = b.view
		r.EtcdIndex, r.RaftIndex, r.RaftTerm = 42, 50, 2
		r.Done <- r
	}
}

func benchServer(b *testing.B) *Server {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	b.Cleanup(sys.Shutdown)
	view := bodyView(`{"action":"get","node":{"key":"/foo/bar","value":"some value","modifiedIndex":40,"createdIndex":40}}` + "\n")
	tree := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &benchTree{view: view} }))
	return New(Config{PIDs: actors.PIDs{Tree: tree}, Root: sys.Root, Log: zerolog.Nop(), Self: testSelf, ClusterID: testClusterID})
}

// BenchmarkGetOne is a GET of one key through the handler: parse, a Read to
// the tree and back, render. The allocations counted include the actor
// system's own (its mailbox) and the key string the Read must own.
func BenchmarkGetOne(b *testing.B) {
	handler := benchServer(b).Handler()
	ctx := newCtx("GET", "/v2/keys/foo/bar?recursive=false&sorted=false&quorum=false", "", "")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Response.Reset()
		handler(ctx)
	}
	b.StopTimer()
	if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) == 0 {
		b.Fatalf("status %d body %q", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// BenchmarkParseKeyRequest is the parse alone, for a typical write.
func BenchmarkParseKeyRequest(b *testing.B) {
	var tg target
	uri := []byte("/v2/keys/foo/bar?prevExist=true&noValueOnSuccess=false")
	body := []byte("value=some+value&ttl=30")
	ctype := []byte(formType)
	var fm form
	var kr keyRequest
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !tg.parse(uri) {
			b.Fatal("parse")
		}
		if e := parseKeyRequest(mPUT, tg.path, tg.query, ctype, body, testNow, &fm, &kr); e != nil {
			b.Fatal(e)
		}
	}
}

// BenchmarkRequestMetrics is what the metrics add to each keys request: the
// received count and the latency observed at the end (the clock read at the
// start is the one the request needs for its own time anyway). It must stay
// a few atomic operations, without allocations.
func BenchmarkRequestMetrics(b *testing.B) {
	m := newHTTPMetrics(prometheus.NewRegistry())
	start := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.requestReceived(rmGET)
		m.requestDone(rmGET, 200, false, start)
	}
}
