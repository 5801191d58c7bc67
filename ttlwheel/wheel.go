package ttlwheel

import (
	"math/bits"
	"time"
)

// none marks the end of a list and a free entry's list.
const none = -1

// entry is one deadline. It holds no pointer (the path lives only as the
// index map's key), so the entries slice is one object the collector never
// scans, and 24 bytes per deadline.
type entry struct {
	at   int64
	prev int32
	next int32 // also links the free list
	list int32 // slot number, the due list (= number of slots), or none when free
}

// Wheel is a hashed timing wheel of deadlines keyed by path. A path has at
// most one deadline. Advance moves the deadlines that have passed onto the
// due list; they stay there until removed, because only the tree's
// confirmation (an At=0 hint) may forget them. It is not safe for concurrent
// use: the actor owns it.
type Wheel struct {
	res     int64 // nanoseconds per tick
	mask    int64
	due     int32 // list number of the due list
	cur     int64 // every deadline at or before cur*res is on the due list
	heads   []int32
	occupy  []uint64 // bit s set when slot s is not empty
	entries []entry
	free    int32
	index   map[string]int32
	nDue    int
	maxDue  int64
}

// NewWheel makes a wheel whose slots each span res, with slots rounded up to
// a power of two, whose clock starts at now (unix nanoseconds).
func NewWheel(res time.Duration, slots int, now int64) *Wheel {
	if res <= 0 {
		res = DefaultResolution
	}
	n := 1
	for n < slots {
		n <<= 1
	}
	w := &Wheel{
		res:    int64(res),
		mask:   int64(n - 1),
		due:    int32(n),
		heads:  make([]int32, n+1),
		occupy: make([]uint64, (n+63)/64),
		free:   none,
		index:  make(map[string]int32),
	}
	for i := range w.heads {
		w.heads[i] = none
	}
	w.cur = w.tickOf(now)
	return w
}

// tickOf is the tick holding time t: the one whose end, tick*res, is the
// first at or after t.
func (w *Wheel) tickOf(t int64) int64 {
	if t <= 0 {
		return 0
	}
	t0 := t / w.res
	if t%w.res != 0 {
		t0++
	}
	return t0
}

// Len is the number of deadlines held.
func (w *Wheel) Len() int { return len(w.index) }

// Due is the number of deadlines that had passed at the last Advance and are
// not yet removed.
func (w *Wheel) Due() int { return w.nDue }

// MaxDue is the latest deadline ever moved onto the due list since the wheel
// was made or Reset (removals do not lower it). The actor compares it with the
// stamp of its last sweep to tell newly due deadlines from already covered ones.
func (w *Wheel) MaxDue() int64 { return w.maxDue }

// At returns the deadline held for path.
func (w *Wheel) At(path string) (int64, bool) {
	i, ok := w.index[path]
	if !ok {
		return 0, false
	}
	return w.entries[i].at, true
}

// Add sets path's deadline to at (unix nanoseconds), replacing any earlier
// one. at <= 0 removes it, as the tree's At=0 hint means.
func (w *Wheel) Add(path string, at int64) {
	if at <= 0 {
		w.Remove(path)
		return
	}
	i, ok := w.index[path]
	if ok {
		if w.entries[i].at == at {
			return
		}
		w.unlink(i)
	} else {
		i = w.alloc()
		w.index[path] = i
	}
	w.entries[i].at = at
	w.place(i)
}

// Remove forgets path's deadline; it reports whether there was one.
func (w *Wheel) Remove(path string) bool {
	i, ok := w.index[path]
	if !ok {
		return false
	}
	delete(w.index, path)
	w.unlink(i)
	e := &w.entries[i]
	e.list = none
	e.next = w.free
	w.free = i
	return true
}

// Reset forgets every deadline, keeping the memory for the hints that follow
// a snapshot restore.
func (w *Wheel) Reset() {
	clear(w.index)
	w.entries = w.entries[:0]
	w.free = none
	for i := range w.heads {
		w.heads[i] = none
	}
	clear(w.occupy)
	w.nDue = 0
	w.maxDue = 0
}

// Advance moves every deadline at or before now onto the due list and
// returns how many are due. A clock that went backwards moves nothing.
func (w *Wheel) Advance(now int64) int {
	target := now / w.res // the last tick that has fully ended
	if target > w.cur {
		n := target - w.cur
		if n > w.mask+1 {
			n = w.mask + 1 // a long gap: every slot once is enough
		}
		for t := w.cur + 1; t <= w.cur+n; t++ {
			w.sweep(int32(t&w.mask), now)
		}
		w.cur = target
	}
	if now%w.res != 0 {
		// The tick in progress may already hold passed deadlines.
		w.sweep(int32((w.cur+1)&w.mask), now)
	}
	return w.nDue
}

// NextWake is the end of the first tick after the current one whose slot is
// not empty: the earliest time at which Advance can find a new due deadline
// (it may find only later revolutions there). ok is false when no deadline
// waits in any slot.
func (w *Wheel) NextWake() (at int64, ok bool) {
	slots := w.mask + 1
	start := (w.cur + 1) & w.mask
	for d := int64(0); d < slots; {
		s := (start + d) & w.mask
		word := w.occupy[s>>6] >> (s & 63)
		if word != 0 {
			d += int64(bits.TrailingZeros64(word))
			if d >= slots {
				break
			}
			return (w.cur + 1 + d) * w.res, true
		}
		step := 64 - s&63
		if s+step > slots {
			step = slots - s // fewer than 64 slots: wrap to slot 0
		}
		d += step
	}
	return 0, false
}

// sweep moves the deadlines of slot s that are at or before now onto the due
// list.
func (w *Wheel) sweep(s int32, now int64) {
	for i := w.heads[s]; i != none; {
		e := &w.entries[i]
		next := e.next
		if e.at <= now {
			w.unlink(i)
			w.push(w.due, i)
		}
		i = next
	}
}

// place links entry i into its slot, or onto the due list when its tick has
// already been swept.
func (w *Wheel) place(i int32) {
	t := w.tickOf(w.entries[i].at)
	if t <= w.cur {
		w.push(w.due, i)
		return
	}
	w.push(int32(t&w.mask), i)
}

func (w *Wheel) push(list, i int32) {
	e := &w.entries[i]
	e.list = list
	e.prev = none
	e.next = w.heads[list]
	if e.next != none {
		w.entries[e.next].prev = i
	}
	w.heads[list] = i
	if list == w.due {
		w.nDue++
		if e.at > w.maxDue {
			w.maxDue = e.at
		}
		return
	}
	w.occupy[list>>6] |= 1 << (list & 63)
}

func (w *Wheel) unlink(i int32) {
	e := &w.entries[i]
	if e.prev != none {
		w.entries[e.prev].next = e.next
	} else {
		w.heads[e.list] = e.next
	}
	if e.next != none {
		w.entries[e.next].prev = e.prev
	}
	if e.list == w.due {
		w.nDue--
	} else if w.heads[e.list] == none {
		w.occupy[e.list>>6] &^= 1 << (e.list & 63)
	}
	e.prev, e.next = none, none
}

func (w *Wheel) alloc() int32 {
	if i := w.free; i != none {
		w.free = w.entries[i].next
		return i
	}
	w.entries = append(w.entries, entry{})
	return int32(len(w.entries) - 1)
}
