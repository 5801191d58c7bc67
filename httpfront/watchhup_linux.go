package httpfront

import (
	"sync"
	"syscall"
	"time"
)

// hangups notices parked watches whose clients hung up. Nothing reads a
// parked connection, so without this a client gone would be noticed only at
// WatchMaxWait, and until then the watch would still count in
// /v2/stats/store (etcd drops a watcher as soon as its client goes). One
// goroutine waits on an epoll set of its own holding every parked socket,
// asking only for the peer's hang-up: a client that sends its next request
// early wakes nobody.
type hangups struct {
	lot  *lot
	epfd int

	mu    sync.Mutex
	next  uint64
	byTok map[uint64]*parkedWatch
}

// hupPoll is how often the waiting goroutine looks whether the server is
// shutting down.
const hupPoll = 200 * time.Millisecond

func newHangups(l *lot) *hangups {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		l.s.log.Warn().Err(err).Msg("no epoll: parked watches' hang-ups are noticed at max wait only")
		return nil
	}
	h := &hangups{lot: l, epfd: fd, byTok: make(map[uint64]*parkedWatch)}
	go h.run()
	return h
}

// watch adds pw's socket; pw.mu is held.
func (h *hangups) watch(pw *parkedWatch) {
	if h == nil || pw.fd < 0 {
		return
	}
	h.mu.Lock()
	h.next++
	tok := h.next
	h.byTok[tok] = pw
	h.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(uint32(tok)), Pad: int32(uint32(tok >> 32))}
	if err := syscall.EpollCtl(h.epfd, syscall.EPOLL_CTL_ADD, pw.fd, &ev); err != nil {
		h.mu.Lock()
		delete(h.byTok, tok)
		h.mu.Unlock()
		return
	}
	pw.hupTok = tok
}

// forget removes pw's socket, before the connection closes or goes back to
// fasthttp; pw.mu is held.
func (h *hangups) forget(pw *parkedWatch) {
	if h == nil || pw.hupTok == 0 {
		return
	}
	h.mu.Lock()
	delete(h.byTok, pw.hupTok)
	h.mu.Unlock()
	pw.hupTok = 0
	_ = syscall.EpollCtl(h.epfd, syscall.EPOLL_CTL_DEL, pw.fd, nil)
}

func (h *hangups) run() {
	defer syscall.Close(h.epfd)
	events := make([]syscall.EpollEvent, 128)
	for !h.lot.closing() {
		n, err := syscall.EpollWait(h.epfd, events, int(hupPoll/time.Millisecond))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			h.lot.s.log.Warn().Err(err).Msg("epoll wait failed: parked watches' hang-ups are noticed at max wait only")
			return
		}
		for _, ev := range events[:n] {
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			h.mu.Lock()
			pw := h.byTok[tok]
			h.mu.Unlock()
			if pw != nil {
				pw.hangUp(tok)
			}
		}
	}
}

// hangUp ends a watch whose client is gone.
func (pw *parkedWatch) hangUp(tok uint64) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.state != parked || pw.hupTok != tok {
		return
	}
	pw.lot.s.log.Debug().Uint64("watch", pw.id).Msg("watch client hung up")
	pw.failLocked()
}
