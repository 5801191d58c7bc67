package connpark

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/etcdv2/server/actors"
)

// Watch is a long poll, and once parked one whose headers are out and whose
// connection fasthttp has let go: no goroutine waits for it. It is the
// watch's sink: the hub's Deliver queues the event and hands the watch to the
// lot's writers, which write it without blocking (watchwrite.go). A
// one-shot's event ends the response, and the connection goes back to wait
// for the client's next request: in the epoll set, or with fasthttp when
// there is none or the client already sent more. A stream takes chunk after
// chunk. The lot's sweeper ends watches at MaxWait and at shutdown. A parked
// watch costs its struct, its socket and its entry in the hub.
type Watch struct {
	lot     *lot
	id      uint64
	stream  bool
	chunked bool // HTTP/1.1: chunked body; else the body ends with the connection
	keep    bool // the connection may serve another request after the body

	// first carries the hub's first delivery (an error or the
	// acknowledgment) to the handler, which waits for it.
	first chan *actors.WatchEvent

	mu     sync.Mutex
	state  parkState
	acked  bool // the first delivery went to first
	queued bool // in the writers' queue
	slow   bool // a goroutine of its own is writing what the client could not take at once
	// forgotten: the hub holds the watch no more (a one-shot that got its
	// event), or was told by Unwatch.
	forgotten bool
	pending   []*actors.WatchEvent
	inline    [2]*actors.WatchEvent // pending's first room
	head      []byte                // the response headers, until written
	borrowed  bool                  // head is the intake's buffer: gone once park returns
	conn      net.Conn
	fd        int    // conn's socket, for writes that never wait; -1: none
	lead      []byte // bytes the client sent after its request, handed back with the connection

	// Guarded by lot.mu: the lot's list, in deadline order.
	deadline   int64
	prev, next *Watch
	linked     bool
}

// streamBuffer is how many deliveries a stream may have waiting to be
// written, etcd's buffer per stream watcher; past it the hub keeps the
// stream lagging and refills it from the history.
const streamBuffer = 100

// streamWriteTimeout bounds one write to a long poll's client that could not
// take it at once (see watchwrite.go).
const streamWriteTimeout = time.Minute

type parkState uint8

const (
	waiting parkState = iota // the handler still has the request
	parked                   // the connection is ours
	done                     // answered, ended or abandoned: deliveries are dropped
)

func newWatch(l *lot, id uint64, stream bool) *Watch {
	pw := &Watch{lot: l, id: id, stream: stream, fd: -1, first: make(chan *actors.WatchEvent, 1)}
	pw.pending = pw.inline[:0]
	return pw
}

// Deliver is the hub's side (actors.WatchSink): it never blocks. The first
// delivery goes to the waiting handler; later ones wait in pending until a
// writer takes them. A full pending list says "no room": the hub refills the
// stream from its history later.
func (pw *Watch) Deliver(we *actors.WatchEvent) bool {
	pw.mu.Lock()
	if !pw.acked {
		pw.acked = true
		pw.mu.Unlock()
		pw.first <- we // room for one, and only the first comes here
		return true
	}
	if pw.state == done {
		pw.mu.Unlock()
		return true // nobody will read it; the hub learns of the end by Unwatch
	}
	limit := 2
	if pw.stream {
		limit = streamBuffer
	}
	if len(pw.pending) >= limit {
		pw.mu.Unlock()
		return false
	}
	pw.pending = append(pw.pending, we)
	if !pw.stream {
		pw.forgotten = true // the hub drops a one-shot with its delivery
	}
	wake := pw.state == parked && !pw.queued && !pw.slow
	if wake {
		pw.queued = true
	}
	pw.mu.Unlock()
	if wake {
		pw.lot.queue.push(pw)
	}
	return true
}

// ID is the watch's id, unique in its engine, for the hub.
func (pw *Watch) ID() uint64 { return pw.id }

// First carries the hub's first delivery to the waiting handler: an error
// that ends the watch, or the acknowledgment.
func (pw *Watch) First() <-chan *actors.WatchEvent { return pw.first }

// TakeEarly returns a one-shot's event if it came with the acknowledgment;
// the watch is then over.
func (pw *Watch) TakeEarly() *actors.Event {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	for _, we := range pw.pending {
		if we.Err == nil && we.Event != nil {
			pw.state = done
			pw.clearPending()
			return we.Event
		}
	}
	return nil
}

// Abandon drops a watch the handler answered without parking.
func (pw *Watch) Abandon() {
	pw.mu.Lock()
	pw.state = done
	pw.clearPending()
	pw.mu.Unlock()
}

func (pw *Watch) clearPending() {
	clear(pw.pending)
	pw.pending = pw.pending[:0]
}

// park is the hijack handler, on a goroutine fasthttp starts for it: it
// takes the connection, writes the headers and whatever came meanwhile, puts
// the watch in the lot and returns.
func (pw *Watch) park(c net.Conn) {
	raw, lead := detach(c)
	pw.parkOn(raw, socketOf(raw), lead)
}

// parkOn parks pw on its connection raw, whose socket is fd (-1: none), with
// the bytes lead that its client already sent after the request.
func (pw *Watch) parkOn(raw net.Conn, fd int, lead []byte) {
	pw.mu.Lock()
	pw.conn, pw.lead, pw.fd = raw, lead, fd
	pw.state = parked
	if !pw.lot.add(pw) {
		// Shutting down: the headers, an empty body, and the end.
		pw.finishLocked(endClose)
		pw.unwatchLocked()
		pw.mu.Unlock()
		return
	}
	if t := pw.lot.e.conns(); t != nil {
		t.parked(pw)
	}
	hand := pw.flushLocked(nil, false)
	pw.mu.Unlock()
	pw.handBack(hand)
}

// detach gets the socket under fasthttp's hijacked connection, so fasthttp's
// read buffer can go; what that buffer already held (a client that sent its
// next request early) is kept to be read first when the connection goes back.
func detach(c net.Conn) (net.Conn, []byte) {
	u, ok := c.(interface{ UnsafeConn() net.Conn })
	if !ok {
		return c, nil
	}
	raw := u.UnsafeConn()
	// With its deadline past, the socket is not read: only what fasthttp's
	// buffer holds comes out.
	if raw.SetReadDeadline(time.Unix(1, 0)) != nil {
		return c, nil
	}
	var lead []byte
	var b [512]byte
	for i := 0; i < 1<<14; i++ { // bounded: the buffer holds at most ReadBufferSize
		n, err := c.Read(b[:])
		lead = append(lead, b[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	if raw.SetReadDeadline(time.Time{}) != nil {
		return c, nil
	}
	return raw, lead
}

// end is how a wait ends without an event: at WatchMaxWait (the client then
// watches again), or at shutdown, when the connection closes as well.
// Deliveries already queued still go out first.
func (pw *Watch) end(how ending) {
	pw.mu.Lock()
	if pw.state != parked {
		pw.mu.Unlock()
		return
	}
	var hand net.Conn
	if pw.slow {
		// The client cannot even take what it has: drop it.
		pw.finishLocked(endClose)
	} else {
		hand = pw.flushLocked(nil, true)
	}
	pw.unwatchLocked()
	pw.mu.Unlock()
	if how == endClose && hand != nil {
		pw.closeConn(hand)
		hand = nil
	}
	pw.handBack(hand)
}

// unwatchLocked tells the hub, once, that the watch is over, unless the hub
// dropped it itself (a one-shot that got its event).
func (pw *Watch) unwatchLocked() {
	if !pw.forgotten {
		pw.forgotten = true
		pw.lot.e.host.Unwatch(pw.id)
	}
}

// failLocked drops a watch whose client is gone.
func (pw *Watch) failLocked() {
	pw.finishLocked(endClose)
	pw.unwatchLocked()
}

type ending uint8

const (
	endKeep  ending = iota // the response is complete; the connection may go on
	endClose               // close the connection
)

// finishLocked ends the watch at once: the headers if they are still
// unwritten, the last chunk, then the connection closes. pw.mu is held.
func (pw *Watch) finishLocked(how ending) {
	if pw.state == done {
		return
	}
	pw.state = done
	pw.clearPending()
	pw.lot.remove(pw)
	pw.unparkLocked()
	if pw.conn == nil {
		return
	}
	if !pw.slow {
		out := append(pw.head, lastChunk(pw.chunked)...)
		pw.head, pw.borrowed = nil, false
		pw.tryWrite(out)
	}
	pw.closeConn(pw.conn)
	pw.conn = nil
}

// unparkLocked tells the connection table that pw's connection is no
// longer a parked watch's.
func (pw *Watch) unparkLocked() {
	if t := pw.lot.e.conns(); t != nil && pw.conn != nil {
		t.unparked(pw)
	}
}

// closeConn closes c, pw's connection, out of the connection table.
func (pw *Watch) closeConn(c net.Conn) {
	if t := pw.lot.e.conns(); t != nil {
		t.drop(c, pw.fd)
	}
	c.Close()
}

// hangUp ends a watch whose client is gone.
func (pw *Watch) hangUp() {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.state != parked {
		return
	}
	pw.lot.e.log.Debug().Uint64("watch", pw.id).Msg("watch client hung up")
	pw.failLocked()
}

// handBack gives a connection whose response is complete back to wait for
// the client's next request: in the ready listener's epoll set, or with
// fasthttp, which serves it or closes it.
func (pw *Watch) handBack(c net.Conn) {
	if c == nil {
		return
	}
	if !pw.keep || pw.lot.closing() {
		pw.closeConn(c)
		return
	}
	t := pw.lot.e.conns()
	if len(pw.lead) == 0 && t != nil {
		t.rearm(c, pw.fd)
		return
	}
	if t != nil {
		t.drop(c, pw.fd)
	}
	if len(pw.lead) > 0 {
		// Bytes already read would not wake the epoll set.
		c = &leadConn{Conn: c, lead: pw.lead}
		pw.lead = nil
	}
	host := pw.lot.e.host
	go func() {
		// ServeConn closes c when the client is done with it.
		_ = host.ServeConn(c)
	}()
}

// leadConn is a connection whose first bytes were read already.
type leadConn struct {
	net.Conn
	lead []byte
}

func (c *leadConn) Read(p []byte) (int, error) {
	if len(c.lead) > 0 {
		n := copy(p, c.lead)
		c.lead = c.lead[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

var _ io.Reader = (*leadConn)(nil)

func lastChunk(chunked bool) []byte {
	if chunked {
		return crlfLast
	}
	return nil
}

var crlfLast = []byte("0\r\n\r\n")
