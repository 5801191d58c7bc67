package connpark

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// readyListener keeps the server's connections in one epoll set while they
// wait: for their first request, for their next one after a long poll, and
// while a long poll is parked (for its client's hang-up). fasthttp gives
// every connection it holds a goroutine and buffers; here a waiting
// connection costs a socket and a table entry. A connection is registered
// once, edge-triggered, for its whole stay, so moving between waiting, being
// served and being parked costs no system call; only handing it to fasthttp
// takes it out of the set.
type readyListener struct {
	net.Listener
	log  zerolog.Logger
	epfd int

	ready chan net.Conn
	done  chan struct{}

	in *intake // serves long polls itself; nil: every request goes to fasthttp

	// idleLimit closes a connection that waits that long for a request,
	// as fasthttp's IdleTimeout would; 0: never.
	idleLimit time.Duration

	mu     sync.Mutex
	closed bool
	conns  map[int32]*waiter // by file descriptor
}

// waiter is a connection in the set.
type waiter struct {
	c     net.Conn
	fd    int32
	state waitState
	input bool   // bytes came while busy or parked: serve them once idle
	since int64  // when it became idle, in unix nanoseconds
	hup   bool   // the peer hung up while busy
	pw    *Watch // while parked
}

// epollET is EPOLLET, which package syscall spells as a negative int.
const epollET = uint32(1) << 31

type waitState uint8

const (
	wIdle   waitState = iota // waiting for a request
	wBusy                    // the intake or a watch writer has it
	wParked                  // a parked long poll's connection
)

// listenReady wraps ln; where epoll cannot be had it returns ln itself. With
// a host, long polls that arrive whole are served by its intake.
func listenReady(ln net.Listener, e *Engine) net.Listener {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		e.log.Warn().Err(err).Msg("no epoll: idle connections are served as accepted")
		return ln
	}
	r := &readyListener{Listener: ln, log: e.log, epfd: fd, ready: make(chan net.Conn, 1024),
		done: make(chan struct{}), conns: make(map[int32]*waiter), idleLimit: e.idleLimit}
	if e.host != nil {
		r.in = newIntake(e, r)
	}
	go r.accept()
	go r.poll()
	return r
}

func (r *readyListener) accept() {
	for {
		c, err := r.Listener.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			r.Close() // a listener that cannot accept is done
			return
		}
		if !r.add(c, wIdle, nil) {
			r.handOver(c, -1)
		}
	}
}

// add registers c in the set in state st; false if that cannot be done (c
// is then still the caller's), or after Close (c is closed).
func (r *readyListener) add(c net.Conn, st waitState, pw *Watch) bool {
	fd := socketOf(c)
	if fd < 0 {
		return false
	}
	w := &waiter{c: c, fd: int32(fd), state: st, pw: pw, since: time.Now().UnixNano()}
	// Under the lock: the poller closes the epoll set under it too, and an
	// event may come as soon as the socket is in the set.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return true
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: int32(fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return false
	}
	r.conns[int32(fd)] = w
	return true
}

// find returns c's entry; r.mu is held.
func (r *readyListener) find(c net.Conn, fd int) *waiter {
	if fd < 0 {
		return nil
	}
	if w := r.conns[int32(fd)]; w != nil && w.c == c {
		return w
	}
	return nil
}

// handOver gives c to fasthttp (through Accept), out of the set; after Close
// it closes c instead. The ready channel is never closed: Accept learns of
// the end from done.
func (r *readyListener) handOver(c net.Conn, fd int) {
	r.drop(c, fd)
	select {
	case <-r.done:
		c.Close()
		return
	default:
	}
	select {
	case r.ready <- c:
	case <-r.done:
		c.Close()
	}
}

// rearm puts c, whose response is complete, back to wait for its next
// request; a request that came meanwhile is served at once.
func (r *readyListener) rearm(c net.Conn, fd int) {
	r.mu.Lock()
	w := r.find(c, fd)
	if w == nil {
		r.mu.Unlock()
		if !r.add(c, wIdle, nil) {
			r.handOver(c, -1)
		}
		return
	}
	if r.closed {
		// After Close nobody would serve or close it.
		delete(r.conns, w.fd)
		r.mu.Unlock()
		c.Close()
		return
	}
	w.state, w.pw, w.since = wIdle, nil, time.Now().UnixNano()
	serve := w.input || w.hup
	w.input, w.hup = false, false
	if serve {
		w.state = wBusy
	}
	r.mu.Unlock()
	if serve {
		r.serve(c, fd)
	}
}

// parked marks pw's connection as a parked long poll, whose hang-up ends
// it; pw.mu is held.
func (r *readyListener) parked(pw *Watch) {
	r.mu.Lock()
	w := r.find(pw.conn, pw.fd)
	if w == nil {
		// A connection fasthttp served: it joins the set now.
		r.mu.Unlock()
		r.add(pw.conn, wParked, pw)
		return
	}
	w.state, w.pw = wParked, pw
	gone := w.hup
	w.hup = false
	r.mu.Unlock()
	if gone {
		// pw.mu is held: end it from elsewhere, as an event would.
		go pw.hangUp()
	}
}

// unparked marks pw's connection busy again: its watch is over and its
// writer decides what comes next (rearm or close); pw.mu is held.
func (r *readyListener) unparked(pw *Watch) {
	r.mu.Lock()
	if w := r.find(pw.conn, pw.fd); w != nil && w.pw == pw {
		w.state, w.pw = wBusy, nil
	}
	r.mu.Unlock()
}

// drop takes c out of the set: before it closes (its descriptor may be
// reused at once), or when fasthttp is to serve it.
func (r *readyListener) drop(c net.Conn, fd int) {
	r.mu.Lock()
	if w := r.find(c, fd); w != nil {
		delete(r.conns, w.fd)
		_ = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
	r.mu.Unlock()
}

// serve hands c, which has something to read, to the intake or fasthttp;
// c is busy. An event that found nothing to read leaves it waiting.
func (r *readyListener) serve(c net.Conn, fd int) {
	if r.in == nil {
		r.handOver(c, fd)
		return
	}
	switch r.in.offer(c, fd) {
	case offerTaken:
	case offerNothing:
		r.rearm(c, fd)
	default:
		r.handOver(c, fd)
	}
}

// poll serves every connection that becomes readable while idle, and ends
// parked watches whose clients hang up.
func (r *readyListener) poll() {
	defer func() {
		r.mu.Lock()
		syscall.Close(r.epfd)
		r.mu.Unlock()
	}()
	events := make([]syscall.EpollEvent, 256)
	const gone = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	sweepEvery := min(max(r.idleLimit/16, 10*time.Millisecond), 10*time.Second)
	nextSweep := time.Now().Add(sweepEvery)
	for {
		n, err := syscall.EpollWait(r.epfd, events, 200)
		select {
		case <-r.done:
			return
		default:
		}
		if now := time.Now(); r.idleLimit > 0 && now.After(nextSweep) {
			r.closeIdle(now.Add(-r.idleLimit).UnixNano())
			nextSweep = now.Add(sweepEvery)
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			r.log.Warn().Err(err).Msg("epoll wait failed: idle connections wait for shutdown")
			return
		}
		for _, ev := range events[:n] {
			var c net.Conn
			var pw *Watch
			r.mu.Lock()
			w := r.conns[ev.Fd]
			switch {
			case w == nil:
			case w.state == wIdle:
				w.state = wBusy
				c = w.c
			case w.state == wBusy:
				w.input = w.input || ev.Events&syscall.EPOLLIN != 0
				w.hup = w.hup || ev.Events&gone != 0
			case ev.Events&gone != 0:
				pw = w.pw
			default:
				w.input = true // the next request, sent early
			}
			r.mu.Unlock()
			switch {
			case c != nil:
				r.serve(c, int(ev.Fd))
			case pw != nil:
				pw.hangUp()
			}
		}
	}
}

// closeIdle closes the connections that have waited for a request since
// before the time given (unix nanoseconds).
func (r *readyListener) closeIdle(before int64) {
	var old []net.Conn
	r.mu.Lock()
	for fd, w := range r.conns {
		if w.state == wIdle && w.since < before {
			old = append(old, w.c)
			delete(r.conns, fd)
		}
	}
	r.mu.Unlock()
	for _, c := range old {
		c.Close()
	}
	if len(old) > 0 {
		r.log.Debug().Int("connections", len(old)).Msg("idle connections closed")
	}
}

// Accept returns the next connection that has bytes to read.
func (r *readyListener) Accept() (net.Conn, error) {
	select {
	case c := <-r.ready:
		return c, nil
	case <-r.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes every connection waiting for a request;
// parked watches end with the server's shutdown.
func (r *readyListener) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var waiting []net.Conn
	for fd, w := range r.conns {
		if w.state == wIdle {
			waiting = append(waiting, w.c)
			delete(r.conns, fd)
		}
	}
	r.mu.Unlock()
	close(r.done)
	err := r.Listener.Close()
	for _, c := range waiting {
		c.Close()
	}
	for {
		select {
		case c := <-r.ready:
			c.Close()
		default:
			return err // the poller closes the epoll set as it leaves
		}
	}
}
