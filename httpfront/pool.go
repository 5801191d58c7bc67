package httpfront

import (
	"sync"
	"time"

	"github.com/etcdv2/server/actors"
)

// request is the per-request scratch space: the parsed target, the form and
// an output buffer. It is pooled; nothing in it outlives the handler.
type request struct {
	target target
	form   form
	out    []byte
}

// maxKept bounds the buffers a pooled object may keep, so one huge request
// does not pin its memory forever.
const maxKept = 64 << 10

var requestPool = sync.Pool{New: func() any { return new(request) }}

func getRequest() *request { return requestPool.Get().(*request) }

func putRequest(rq *request) {
	rq.target = target{own: trim(rq.target.own)}
	rq.form.buf = trim(rq.form.buf)
	rq.out = trim(rq.out)
	requestPool.Put(rq)
}

func trim(b []byte) []byte {
	if cap(b) > maxKept {
		return nil
	}
	return b[:0]
}

// Messages are pooled with their Done channels and body buffers. A message
// goes back to its pool only after it came back on Done: once the front gave
// up waiting, the actor may still answer it, so it is left to the collector.

var readPool = sync.Pool{New: func() any { return &actors.Read{Done: make(chan *actors.Read, 1)} }}

func getRead() *actors.Read { return readPool.Get().(*actors.Read) }

func putRead(r *actors.Read) {
	*r = actors.Read{Body: trim(r.Body), Done: r.Done}
	readPool.Put(r)
}

var proposePool = sync.Pool{New: func() any { return &actors.Propose{Done: make(chan *actors.Propose, 1)} }}

func getPropose() *actors.Propose { return proposePool.Get().(*actors.Propose) }

func putPropose(p *actors.Propose) {
	*p = actors.Propose{Done: p.Done}
	proposePool.Put(p)
}

var statusPool = sync.Pool{New: func() any { return &actors.StatusAsk{Done: make(chan *actors.StatusAsk, 1)} }}

func getStatus() *actors.StatusAsk { return statusPool.Get().(*actors.StatusAsk) }

func putStatus(a *actors.StatusAsk) {
	*a = actors.StatusAsk{Done: a.Done}
	statusPool.Put(a)
}

// Timers are pooled too: with Go 1.23 timers, a stopped timer that is Reset
// never delivers a stale tick.
var timerPool sync.Pool

func getTimer(d time.Duration) *time.Timer {
	if t, ok := timerPool.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func putTimer(t *time.Timer) {
	t.Stop()
	timerPool.Put(t)
}
