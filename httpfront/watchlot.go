package httpfront

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// lot holds a server's parked watches: a list in deadline order (every
// watch waits the same WatchMaxWait, so parking order is deadline order),
// swept by one goroutine, and the queue of watches with something to write,
// served by a few writer goroutines. Its goroutines end at shutdown, after
// ending every parked watch.
type lot struct {
	s     *Server
	queue writeQueue

	mu         sync.Mutex
	head, tail *parkedWatch
	n          int
	closed     bool
}

// parking returns s's lot, making it (and its goroutines) with the first
// watch, so a server that is never watched runs none of them.
func (s *Server) parking() *lot {
	s.parkOnce.Do(func() {
		l := &lot{s: s}
		l.queue.cond.L = &l.queue.mu
		s.park = l
		go l.sweep()
		for range watchWriters() {
			go l.write()
		}
	})
	return s.park
}

// watchWriters is how many goroutines write to parked watches: one per CPU,
// at least two, so that writes overlap with the hub's fan-out.
func watchWriters() int {
	return min(max(runtime.GOMAXPROCS(0), 2), 8)
}

func (l *lot) closing() bool {
	select {
	case <-l.s.closing:
		return true
	default:
		return false
	}
}

// add puts pw at the list's end, with its deadline; false once the server is
// shutting down.
func (l *lot) add(pw *parkedWatch) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	pw.deadline = time.Now().Add(l.s.maxWait).UnixNano()
	pw.prev, pw.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = pw
	} else {
		l.head = pw
	}
	l.tail = pw
	pw.linked = true
	l.n++
	return true
}

// remove takes pw off the list, if it is there.
func (l *lot) remove(pw *parkedWatch) {
	l.mu.Lock()
	l.unlinkLocked(pw)
	l.mu.Unlock()
}

func (l *lot) unlinkLocked(pw *parkedWatch) {
	if !pw.linked {
		return
	}
	if pw.prev != nil {
		pw.prev.next = pw.next
	} else {
		l.head = pw.next
	}
	if pw.next != nil {
		pw.next.prev = pw.prev
	} else {
		l.tail = pw.prev
	}
	pw.prev, pw.next, pw.linked = nil, nil, false
	l.n--
}

// parked is how many watches are parked now.
func (l *lot) parked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// sweep ends watches at their deadline, and every watch at shutdown. Its
// tick is a small part of WatchMaxWait (a second at most): a wait may last
// that much longer, which nobody can tell from a client gone silent.
func (l *lot) sweep() {
	t := time.NewTicker(min(max(l.s.maxWait/16, 5*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-l.s.closing:
			l.shutdown()
			return
		case now := <-t.C:
			l.expire(now.UnixNano())
		}
	}
}

func (l *lot) expire(now int64) {
	var due []*parkedWatch
	l.mu.Lock()
	for pw := l.head; pw != nil && pw.deadline <= now; pw = l.head {
		l.unlinkLocked(pw)
		due = append(due, pw)
	}
	l.mu.Unlock()
	for _, pw := range due {
		pw.end(endKeep)
	}
}

// shutdown ends every parked watch (its last chunk, then the connection
// closes) and stops the writers.
func (l *lot) shutdown() {
	var all []*parkedWatch
	l.mu.Lock()
	l.closed = true
	for pw := l.head; pw != nil; pw = l.head {
		l.unlinkLocked(pw)
		all = append(all, pw)
	}
	l.mu.Unlock()
	for _, pw := range all {
		pw.end(endClose)
	}
	l.queue.close()
}

// write serves the queue until shutdown.
func (l *lot) write() {
	var batch []*parkedWatch
	var scratch []byte
	for {
		batch = l.queue.take(batch[:0])
		if batch == nil {
			return
		}
		for i, pw := range batch {
			pw.handBack(pw.service(&scratch))
			batch[i] = nil
		}
		scratch = trim(scratch)
	}
}

// service writes what pw has pending, unless it ended or a goroutine of its
// own is writing for it, and returns the connection if the response is
// complete.
func (pw *parkedWatch) service(scratch *[]byte) net.Conn {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.queued = false
	if pw.state != parked || pw.slow {
		return nil
	}
	return pw.flushLocked(scratch, false)
}

// writeQueue is the parked watches with something to write. A watch is in it
// at most once (parkedWatch.queued), so it never holds more than the
// watches there are.
type writeQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []*parkedWatch
	next   int // items[next:] wait
	closed bool
}

func (q *writeQueue) push(pw *parkedWatch) {
	q.mu.Lock()
	q.items = append(q.items, pw)
	q.mu.Unlock()
	q.cond.Signal()
}

// take waits for watches and appends up to a batch of them to dst; nil once
// the queue is closed.
func (q *writeQueue) take(dst []*parkedWatch) []*parkedWatch {
	const batch = 64
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.next == len(q.items) && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	end := min(q.next+batch, len(q.items))
	dst = append(dst, q.items[q.next:end]...)
	clear(q.items[q.next:end])
	q.next = end
	if q.next == len(q.items) {
		q.items, q.next = q.items[:0], 0
	}
	return dst
}

func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
