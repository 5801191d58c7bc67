package connpark

import (
	"bufio"
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// intakeHead is the longest request head the intake takes; a longer one
// goes to fasthttp, whose own limit is ReadBufferSize.
const intakeHead = 4096

// intakeWorkers serve the intake's queue. Each waits for the hub's
// acknowledgment of one watch at a time, so a few keep the hub busy.
const intakeWorkers = 4

type intakeJob struct {
	c  net.Conn
	fd int
}

// intake is a ready listener's server of long polls (see intake.go). Its
// queue holds Config.IntakeQueue long polls; past it fasthttp serves them,
// so the poller never waits for the workers (a hub that does not answer
// holds up its watches, not the server's other connections).
type intake struct {
	e    *Engine
	r    *readyListener
	jobs chan intakeJob

	// offer runs on the poller, and on whoever rearms a connection whose
	// next request came early: they share one buffer.
	peekMu sync.Mutex
	peek   [intakeHead]byte

	served atomic.Uint64 // requests the intake answered or parked
}

func newIntake(e *Engine, r *readyListener) *intake {
	in := &intake{e: e, r: r, jobs: make(chan intakeJob, e.intakeQueue)}
	for range intakeWorkers {
		go in.work()
	}
	return in
}

type offerResult uint8

const (
	offerTaken    offerResult = iota // the intake serves it
	offerNothing                     // nothing to read after all: c waits on
	offerDeclined                    // fasthttp's
)

// offer takes c, whose socket fd has bytes to read, if they look like a
// whole long poll.
func (in *intake) offer(c net.Conn, fd int) offerResult {
	in.peekMu.Lock()
	n := peek(fd, in.peek[:])
	whole := n > 0 && wholeWatch(in.peek[:n]) > 0
	in.peekMu.Unlock()
	switch {
	case n < 0:
		return offerNothing
	case !whole:
		return offerDeclined
	}
	select {
	case in.jobs <- intakeJob{c, fd}:
		return offerTaken
	default:
		return offerDeclined
	}
}

// peek copies what the socket holds into b without taking it: -1 when
// there is nothing yet, 0 at the end (or an error, which fasthttp then meets
// on its own).
func peek(fd int, b []byte) int {
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			return int(n)
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return -1
		default:
			return 0
		}
	}
}

var (
	getKeys   = []byte("GET /v2/keys")
	http11    = []byte(" HTTP/1.1")
	waitParam = []byte("wait=")
	crlf      = []byte("\r\n")
	headEnd   = []byte("\r\n\r\n")
)

// wholeWatch returns the length of the request head that b is, when b is
// exactly one HTTP/1.1 GET of /v2/keys that mentions wait= and nothing
// after it; else 0. The handler decides what the request really is.
func wholeWatch(b []byte) int {
	if !bytes.HasPrefix(b, getKeys) {
		return 0
	}
	end := bytes.Index(b, headEnd)
	if end < 0 || end+len(headEnd) != len(b) {
		return 0
	}
	line, _, _ := bytes.Cut(b, crlf)
	if !bytes.HasSuffix(line, http11) || !bytes.Contains(line, waitParam) {
		return 0
	}
	return len(b)
}

// intakeWorker is one worker's context and buffers, reused request after
// request.
type intakeWorker struct {
	in   *intake
	ctx  fasthttp.RequestCtx
	conn intakeConn
	buf  [intakeHead]byte
	rd   bytes.Reader
	br   *bufio.Reader
	out  bytes.Buffer
	bw   *bufio.Writer
}

func (in *intake) work() {
	w := &intakeWorker{in: in}
	w.br = bufio.NewReaderSize(&w.rd, intakeHead)
	w.bw = bufio.NewWriterSize(&w.out, 1024)
	for {
		select {
		case j := <-in.jobs:
			w.serve(j.c, j.fd)
		case <-in.r.done:
			for {
				select {
				case j := <-in.jobs:
					in.r.drop(j.c, j.fd)
					j.c.Close()
				default:
					return
				}
			}
		}
	}
}

// serve answers the request waiting on c, or hands c to fasthttp unread.
func (w *intakeWorker) serve(c net.Conn, fd int) {
	n := peek(fd, w.buf[:])
	if n <= 0 || wholeWatch(w.buf[:n]) == 0 || !w.parse(w.buf[:n]) {
		w.in.r.handOver(c, fd)
		return
	}
	// Now take the bytes: nobody else reads this socket meanwhile.
	if got, err := syscall.Read(fd, w.buf[:n]); err != nil || got != n {
		w.in.closeConn(c, fd)
		return
	}
	w.in.served.Add(1)
	ctx := &w.ctx
	ctx.Response.Reset()
	w.conn.Conn = c
	ctx.Init2(&w.conn, w.in.e.ctxLog, false)
	w.in.e.host.Handle(ctx)
	pw := w.conn.pw
	w.conn.Conn, w.conn.pw = nil, nil
	if pw != nil {
		pw.parkOn(c, fd, nil)
		return
	}
	w.answer(c, fd)
}

// parse reads the head into the worker's context and says whether the
// intake can serve it: a plain GET with no body that keeps its connection.
func (w *intakeWorker) parse(head []byte) bool {
	req := &w.ctx.Request
	req.Reset()
	w.rd.Reset(head)
	w.br.Reset(&w.rd)
	h := &req.Header
	if h.Read(w.br) != nil {
		return false
	}
	// -2 is fasthttp's "no Content-Length": a GET without a body.
	cl := h.ContentLength()
	return h.IsGet() && h.IsHTTP11() && !h.ConnectionClose() && (cl == 0 || cl == -2) &&
		len(h.Peek(fasthttp.HeaderTransferEncoding)) == 0 && len(h.Peek(fasthttp.HeaderExpect)) == 0
}

// answer writes a response the handler completed (an event already in the
// history, an error) and puts c back to wait for the next request.
func (w *intakeWorker) answer(c net.Conn, fd int) {
	resp := &w.ctx.Response
	w.out.Reset()
	w.bw.Reset(&w.out)
	if resp.Write(w.bw) != nil || w.bw.Flush() != nil {
		w.in.closeConn(c, fd)
		return
	}
	closeAfter := resp.ConnectionClose()
	out := w.out.Bytes()
	sent, err := writeNow(fd, out)
	switch {
	case err != nil || (closeAfter && sent == len(out)):
		w.in.closeConn(c, fd)
	case sent < len(out):
		rest := append([]byte(nil), out[sent:]...)
		go w.in.finishWrite(c, fd, rest, closeAfter)
	default:
		w.in.r.rearm(c, fd)
	}
}

// finishWrite writes what a client could not take at once, then waits for
// its next request (or closes).
func (in *intake) finishWrite(c net.Conn, fd int, rest []byte, closeAfter bool) {
	err := writeWithin(c, rest, streamWriteTimeout)
	if err != nil || closeAfter {
		in.closeConn(c, fd)
		return
	}
	in.r.rearm(c, fd)
}

func (in *intake) closeConn(c net.Conn, fd int) {
	in.r.drop(c, fd)
	c.Close()
}
