package connpark

import (
	"net"
	"strconv"
	"time"

	"github.com/etcdv2/server/actors"
)

// Writing to a parked watch never waits: the bytes go to the socket with one
// write(2) on its non-blocking descriptor, which a client that reads takes
// whole (a few hundred bytes into a socket buffer). Only what a client could
// not take gets a goroutine of its own, which writes the rest with a
// deadline and then gives the watch back to the writers. So a handful of
// writer goroutines serve any number of watchers, and one stuck client holds
// up nobody.

// flushLocked writes the pending deliveries (after the headers, the first
// time); with terminate the body ends after them. It returns the connection
// when the response is complete and the connection may serve the client's
// next request. scratch is the caller's buffer for joining several pieces
// (nil: allocate). pw.mu is held and pw is parked and not slow.
func (pw *Watch) flushLocked(scratch *[]byte, terminate bool) net.Conn {
	borrowed := pw.borrowed && len(pw.head) > 0
	pw.borrowed = false
	out, final, joined := pw.renderLocked(scratch, terminate)
	if len(out) == 0 {
		return nil
	}
	n, err := pw.tryWrite(out)
	if err != nil {
		pw.lot.e.log.Debug().Err(err).Uint64("watch", pw.id).Msg("watch client gone")
		pw.failLocked()
		return nil
	}
	if n < len(out) {
		rest := out[n:]
		if (joined && scratch != nil) || (borrowed && !joined) {
			// The scratch buffer is the caller's; a borrowed head the intake's.
			rest = append([]byte(nil), rest...)
		}
		pw.slow = true
		go pw.slowWrite(pw.conn, rest, final)
		return nil
	}
	if final {
		return pw.completeLocked()
	}
	return nil
}

// completeLocked ends a watch whose response is all written and returns its
// connection.
func (pw *Watch) completeLocked() net.Conn {
	pw.state = done
	pw.clearPending()
	pw.lot.remove(pw)
	pw.unparkLocked()
	pw.unwatchLocked()
	c := pw.conn
	pw.conn = nil
	return c
}

// renderLocked joins what goes on the wire next: the headers if unwritten,
// then each pending delivery as a chunk, and reports whether that completes
// the response (a one-shot's event, the hub ending a stream, or terminate)
// and whether out is joined in a buffer (scratch's, if given). A single
// event is its shared rendering, not a copy.
func (pw *Watch) renderLocked(scratch *[]byte, terminate bool) (out []byte, final, joined bool) {
	var w wire
	if scratch != nil {
		w.buf = (*scratch)[:0]
	}
	w.add(pw.head)
	pw.head = nil
	for _, we := range pw.pending {
		if final {
			break
		}
		switch {
		case we.Err != nil && we.Err.Code != actors.EcodeEventIndexCleared:
			// The watch failed (the member lost its leader): the error
			// goes out as the last piece of the body, and the connection
			// closes without the body's end (see abortChunk).
			w.add(abortChunk(we.Err, pw.chunked))
			final, pw.keep = true, false
		case we.Err != nil || we.Event == nil:
			// The hub ended the stream (it fell off the history, or the
			// store was replaced): etcd just closes it.
			w.add(lastChunk(pw.chunked))
			final = true
		case pw.stream:
			w.add(pw.lot.e.rendered(we.Event).chunk(pw.chunked))
		default:
			w.add(pw.lot.e.rendered(we.Event).last(pw.chunked))
			final = true
		}
	}
	pw.clearPending()
	if terminate && !final {
		w.add(lastChunk(pw.chunked))
		final = true
	}
	if scratch != nil && w.joined {
		*scratch = w.buf
	}
	return w.out, final, w.joined
}

// wire is what goes out next: one shared piece as it is, or several joined
// in a buffer.
type wire struct {
	out    []byte
	buf    []byte
	joined bool
}

func (w *wire) add(p []byte) {
	switch {
	case len(p) == 0:
	case len(w.out) == 0:
		w.out = p
	case !w.joined:
		w.buf = append(append(w.buf[:0], w.out...), p...)
		w.out, w.joined = w.buf, true
	default:
		w.buf = append(w.buf, p...)
		w.out = w.buf
	}
}

// tryWrite writes what the socket takes now. A connection without a socket
// of its own takes nothing here: its writes all go the slow way.
func (pw *Watch) tryWrite(b []byte) (int, error) {
	if pw.fd < 0 {
		return 0, nil
	}
	return writeNow(pw.fd, b)
}

// writeWithin writes b to c, waiting at most d, and leaves c with no write
// deadline, as writes that never wait need.
func writeWithin(c net.Conn, b []byte, d time.Duration) error {
	err := c.SetWriteDeadline(time.Now().Add(d))
	if err == nil {
		_, err = c.Write(b)
	}
	if err == nil {
		err = c.SetWriteDeadline(time.Time{})
	}
	return err
}

// slowWrite writes out, which the client could not take at once, waiting up
// to streamWriteTimeout, then whatever came meanwhile, until the watch has
// nothing left; then the writers have it again.
func (pw *Watch) slowWrite(c net.Conn, out []byte, final bool) {
	var buf []byte
	for {
		err := writeWithin(c, out, streamWriteTimeout)
		pw.mu.Lock()
		switch {
		case pw.state != parked:
			// Ended meanwhile; its connection is closed.
			pw.slow = false
			pw.mu.Unlock()
			return
		case err != nil:
			pw.slow = false
			pw.lot.e.log.Debug().Err(err).Uint64("watch", pw.id).Msg("slow watch client gone")
			pw.failLocked()
			pw.mu.Unlock()
			return
		case final:
			pw.slow = false
			hand := pw.completeLocked()
			pw.mu.Unlock()
			pw.handBack(hand)
			return
		case len(pw.pending) == 0:
			pw.slow = false
			pw.mu.Unlock()
			return
		}
		out, final, _ = pw.renderLocked(&buf, false)
		pw.mu.Unlock()
	}
}

// rendering is an event as a watch response carries it, made once and
// shared by every watcher the event reaches: the chunk's size line, the
// JSON (with its newline), the chunk's CRLF, then the last chunk.
type rendering struct {
	ev          *actors.Event
	b           []byte
	json0, json int // the JSON is b[json0:json]
}

func (r *rendering) chunk(chunked bool) []byte {
	if !chunked {
		return r.b[r.json0:r.json]
	}
	return r.b[:r.json+2]
}

func (r *rendering) last(chunked bool) []byte {
	if !chunked {
		return r.b[r.json0:r.json]
	}
	return r.b
}

// rendered returns ev's rendering from the engine's recent ones, by index;
// an entry for another event (another member's, or one from before a
// snapshot) is simply replaced.
func (e *Engine) rendered(ev *actors.Event) *rendering {
	slot := &e.renderings[ev.Index%uint64(len(e.renderings))]
	if r := slot.Load(); r != nil && r.ev == ev {
		return r
	}
	j := ev.AppendJSON(make([]byte, 0, 256), ev.At, false)
	b := make([]byte, 0, len(j)+16)
	b = strconv.AppendUint(b, uint64(len(j)), 16)
	b = append(b, "\r\n"...)
	r := &rendering{ev: ev, json0: len(b)}
	b = append(b, j...)
	r.json = len(b)
	b = append(b, "\r\n0\r\n\r\n"...)
	r.b = b
	slot.Store(r)
	return r
}

// abortChunk is how a watch that failed ends: its error's JSON (etcd's
// error body), as the chunk after the events, and then no last chunk, the
// connection closing instead. A client that reads the pieces of the body
// sees an object with an errorCode, not an event; an HTTP client sees the
// body cut short (Go's: io.ErrUnexpectedEOF), which etcd's Go client takes
// as this member failing and tries the next one. An HTTP/1.0 body is the
// error's JSON up to the connection's end.
func abortChunk(e *actors.Error, chunked bool) []byte {
	j := e.AppendJSON(nil)
	if !chunked {
		return j
	}
	b := strconv.AppendUint(make([]byte, 0, len(j)+8), uint64(len(j)), 16)
	b = append(b, "\r\n"...)
	b = append(b, j...)
	return append(b, "\r\n"...)
}
