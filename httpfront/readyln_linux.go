package httpfront

import (
	"net"
	"sync"
	"syscall"

	"github.com/rs/zerolog"
)

// readyListener hands fasthttp a connection only once its first bytes have
// arrived. fasthttp gives every accepted connection a goroutine and buffers
// while it waits for a request; a client that opens thousands of connections
// and then sends one watch on each (as long-poll watchers do) would pay that
// for every idle one. Here a connection waits in an epoll set instead (a
// socket and a map entry), and fasthttp sees it when there is a request.
type readyListener struct {
	net.Listener
	log  zerolog.Logger
	epfd int

	ready chan net.Conn
	done  chan struct{}

	in *intake // serves long polls itself; nil: everything goes to fasthttp

	mu      sync.Mutex
	closed  bool
	waiting map[int32]net.Conn // by file descriptor
}

// listenReady wraps ln; where epoll cannot be had it returns ln itself. With
// a server, long polls that arrive whole are served by its intake.
func listenReady(ln net.Listener, log zerolog.Logger, s *Server) net.Listener {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		log.Warn().Err(err).Msg("no epoll: idle connections are served as accepted")
		return ln
	}
	r := &readyListener{Listener: ln, log: log, epfd: fd, ready: make(chan net.Conn, 1024),
		done: make(chan struct{}), waiting: make(map[int32]net.Conn)}
	if s != nil {
		r.in = newIntake(s, r)
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
		r.park(c)
	}
}

// park puts c in the epoll set, or straight through if that fails: a new
// connection, or one whose response is complete, to wait for a request.
func (r *readyListener) park(c net.Conn) {
	if fd := socketOf(c); fd >= 0 {
		// Under the lock: the poller closes the epoll set under it too.
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			c.Close()
			return
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
		if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err == nil {
			r.waiting[int32(fd)] = c
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
	r.handOver(c)
}

// handOver queues c for Accept; after Close it closes c instead. The ready
// channel is never closed: Accept learns of the end from done.
func (r *readyListener) handOver(c net.Conn) {
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

// poll hands over every connection with something to read (a request, or
// the hang-up that fasthttp will then notice).
func (r *readyListener) poll() {
	defer func() {
		r.mu.Lock()
		syscall.Close(r.epfd)
		r.mu.Unlock()
	}()
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(r.epfd, events, 200)
		select {
		case <-r.done:
			return
		default:
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			r.log.Warn().Err(err).Msg("epoll wait failed: idle connections wait for shutdown")
			return
		}
		for _, ev := range events[:n] {
			r.mu.Lock()
			c := r.waiting[ev.Fd]
			if c != nil {
				delete(r.waiting, ev.Fd)
				_ = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, int(ev.Fd), nil)
			}
			r.mu.Unlock()
			if c != nil && (r.in == nil || !r.in.offer(c, int(ev.Fd))) {
				r.handOver(c)
			}
		}
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

// Close stops accepting and closes every connection still waiting.
func (r *readyListener) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	waiting := r.waiting
	r.waiting = nil
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
