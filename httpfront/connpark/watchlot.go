package connpark

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// lot holds an engine's parked watches: a list in deadline order (every
// watch waits the same MaxWait, so parking order is deadline order),
// swept by one goroutine, and the queue of watches with something to write,
// served by a few writer goroutines. Its goroutines end at shutdown, after
// ending every parked watch.
type lot struct {
	e     *Engine
	queue writeQueue

	mu         sync.Mutex
	head, tail *Watch
	n          int
	closed     bool
}

// start runs the sweeper and the writers (Engine.parking, once).
func (l *lot) start() {
	go l.sweep()
	for range watchWriters() {
		go l.write()
	}
}

// watchWriters is how many goroutines write to parked watches: one per CPU,
// at least two, so that writes overlap with the hub's fan-out.
func watchWriters() int {
	return min(max(runtime.GOMAXPROCS(0), 2), 8)
}

func (l *lot) closing() bool {
	select {
	case <-l.e.closing:
		return true
	default:
		return false
	}
}

// add puts pw at the list's end, with its deadline; false once the server is
// shutting down.
func (l *lot) add(pw *Watch) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	pw.deadline = time.Now().Add(l.e.maxWait).UnixNano()
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
func (l *lot) remove(pw *Watch) {
	l.mu.Lock()
	l.unlinkLocked(pw)
	l.mu.Unlock()
}

func (l *lot) unlinkLocked(pw *Watch) {
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
	t := time.NewTicker(min(max(l.e.maxWait/16, 5*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-l.e.closing:
			l.shutdown()
			return
		case now := <-t.C:
			l.expire(now.UnixNano())
		}
	}
}

func (l *lot) expire(now int64) {
	var due []*Watch
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
	var all []*Watch
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
	var batch []*Watch
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
		if cap(scratch) > maxScratch {
			scratch = nil // one huge batch does not pin its memory forever
		}
	}
}

// maxScratch bounds the buffer a writer keeps between batches.
const maxScratch = 64 << 10

// service writes what pw has pending, unless it ended or a goroutine of its
// own is writing for it, and returns the connection if the response is
// complete.
func (pw *Watch) service(scratch *[]byte) net.Conn {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.queued = false
	if pw.state != parked || pw.slow {
		return nil
	}
	return pw.flushLocked(scratch, false)
}

// writeQueue is the parked watches with something to write. A watch is in it
// at most once (Watch.queued), so it never holds more than the
// watches there are.
type writeQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []*Watch
	next   int // items[next:] wait
	closed bool
}

func (q *writeQueue) push(pw *Watch) {
	q.mu.Lock()
	q.items = append(q.items, pw)
	q.mu.Unlock()
	q.cond.Signal()
}

// take waits for watches and appends up to a batch of them to dst; nil once
// the queue is closed.
func (q *writeQueue) take(dst []*Watch) []*Watch {
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
