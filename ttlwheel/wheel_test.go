package ttlwheel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// t0 is a start time on a 10 ms boundary.
const t0 = int64(1_700_000_000_000_000_000)

const ms = int64(time.Millisecond)

func newTestWheel(slots int) *Wheel { return NewWheel(10*time.Millisecond, slots, t0) }

func wantDue(t *testing.T, w *Wheel, now int64, want int) {
	t.Helper()
	if got := w.Advance(now); got != want {
		t.Fatalf("Advance(t0%+dns) = %d due, want %d", now-t0, got, want)
	}
	if got := w.Due(); got != want {
		t.Fatalf("Due() = %d after Advance, want %d", got, want)
	}
}

func TestDueExactlyAtDeadline(t *testing.T) {
	w := newTestWheel(64)
	at := t0 + 55*ms
	w.Add("/a", at)
	if w.Len() != 1 {
		t.Fatalf("Len = %d, want 1", w.Len())
	}
	wantDue(t, w, t0+50*ms, 0)
	wantDue(t, w, at-1, 0)
	wantDue(t, w, at, 1)
	// A due deadline stays until the tree confirms it.
	wantDue(t, w, at+time.Second.Nanoseconds(), 1)
	if got, ok := w.At("/a"); !ok || got != at {
		t.Fatalf("At(/a) = %d, %v; want %d, true", got, ok, at)
	}
	if w.MaxDue() != at {
		t.Fatalf("MaxDue = %d, want %d", w.MaxDue(), at)
	}
	if !w.Remove("/a") {
		t.Fatal("Remove(/a) = false, want true")
	}
	if w.Remove("/a") {
		t.Fatal("second Remove(/a) = true, want false")
	}
	if w.Len() != 0 || w.Due() != 0 {
		t.Fatalf("after Remove: Len %d Due %d, want 0 0", w.Len(), w.Due())
	}
	if _, ok := w.At("/a"); ok {
		t.Fatal("At(/a) found a removed deadline")
	}
}

func TestDueAfterDeadlineInOneJump(t *testing.T) {
	w := newTestWheel(64)
	w.Add("/a", t0+15*ms)
	w.Add("/b", t0+300*ms)
	w.Add("/c", t0+301*ms)
	wantDue(t, w, t0+300*ms, 2)
}

func TestAddAtZeroRemoves(t *testing.T) {
	w := newTestWheel(64)
	w.Add("/a", t0+20*ms)
	w.Add("/a", 0)
	if w.Len() != 0 {
		t.Fatalf("Len = %d after At=0, want 0", w.Len())
	}
	wantDue(t, w, t0+time.Hour.Nanoseconds(), 0)
}

func TestReplace(t *testing.T) {
	w := newTestWheel(64)
	w.Add("/a", t0+50*ms)
	w.Add("/a", t0+500*ms)
	if w.Len() != 1 {
		t.Fatalf("Len = %d after replace, want 1", w.Len())
	}
	wantDue(t, w, t0+100*ms, 0)
	wantDue(t, w, t0+500*ms, 1)

	// A later deadline takes a due path off the due list.
	w.Add("/a", t0+900*ms)
	if w.Due() != 0 {
		t.Fatalf("Due = %d after pushing the deadline back, want 0", w.Due())
	}
	wantDue(t, w, t0+899*ms, 0)
	wantDue(t, w, t0+900*ms, 1)

	// An earlier deadline for a pending path makes it due sooner.
	w.Add("/b", t0+5000*ms)
	w.Add("/b", t0+950*ms)
	wantDue(t, w, t0+949*ms, 1)
	wantDue(t, w, t0+950*ms, 2)
	if w.Len() != 2 {
		t.Fatalf("Len = %d, want 2", w.Len())
	}
}

func TestPastDeadlineIsDueAtOnce(t *testing.T) {
	w := newTestWheel(64)
	wantDue(t, w, t0+1000*ms, 0)
	w.Add("/old", t0+500*ms)
	if w.Due() != 1 {
		t.Fatalf("Due = %d right after adding a passed deadline, want 1", w.Due())
	}
	// Inside the tick in progress it waits for the next Advance.
	wantDue(t, w, t0+1005*ms, 1)
	w.Add("/now", t0+1003*ms)
	if w.Due() != 1 {
		t.Fatalf("Due = %d before Advance, want 1", w.Due())
	}
	wantDue(t, w, t0+1005*ms, 2)
}

func TestFarFutureBeyondOneRevolution(t *testing.T) {
	w := newTestWheel(8) // one revolution is 80 ms
	far := t0 + 1003*ms
	w.Add("/far", far)
	w.Add("/near", t0+23*ms) // the same slot as /far
	for now := t0 + 10*ms; now < far; now += 10 * ms {
		want := 0
		if now >= t0+23*ms {
			want = 1
		}
		wantDue(t, w, now, want)
	}
	w.Remove("/near")
	wantDue(t, w, far-1, 0)
	wantDue(t, w, far, 1)

	// Many revolutions in one jump, short of and then past the deadline.
	w.Add("/x", t0+5000*ms)
	wantDue(t, w, t0+4999*ms, 1)
	wantDue(t, w, t0+10000*ms, 2)
}

func TestManyDeadlinesInOneSlot(t *testing.T) {
	w := newTestWheel(16) // revolution 160 ms
	// 1000 deadlines inside tick (t0+40ms, t0+50ms], and 500 in the same
	// slot one and two revolutions later.
	for i := range 1000 {
		w.Add(fmt.Sprintf("/k%d", i), t0+40*ms+1+int64(i)*9_999)
	}
	for i := range 500 {
		w.Add(fmt.Sprintf("/later%d", i), t0+(200+int64(i%2)*160)*ms+1)
	}
	if w.Len() != 1500 {
		t.Fatalf("Len = %d, want 1500", w.Len())
	}
	// Half of the tick has passed: exactly the deadlines at or before now.
	now := t0 + 40*ms + 1 + 499*9_999
	wantDue(t, w, now, 500)
	wantDue(t, w, t0+50*ms, 1000)
	for i := range 100 {
		w.Remove(fmt.Sprintf("/k%d", i))
		w.Remove(fmt.Sprintf("/later%d", i))
	}
	wantDue(t, w, t0+200*ms, 900)
	wantDue(t, w, t0+200*ms+1, 900+200)
	wantDue(t, w, t0+360*ms+1, 900+400)
	if w.Len() != 1300 {
		t.Fatalf("Len = %d, want 1300", w.Len())
	}
}

func TestReset(t *testing.T) {
	w := newTestWheel(64)
	for i := range 100 {
		w.Add(fmt.Sprintf("/k%d", i), t0+int64(i)*7*ms+1)
	}
	wantDue(t, w, t0+350*ms, 50)
	w.Reset()
	if w.Len() != 0 || w.Due() != 0 || w.MaxDue() != 0 {
		t.Fatalf("after Reset: Len %d Due %d MaxDue %d, want 0 0 0", w.Len(), w.Due(), w.MaxDue())
	}
	if _, ok := w.NextWake(); ok {
		t.Fatal("NextWake found a slot after Reset")
	}
	wantDue(t, w, t0+time.Hour.Nanoseconds(), 0)
	w.Add("/k1", t0+time.Hour.Nanoseconds()+5*ms)
	wantDue(t, w, t0+time.Hour.Nanoseconds()+5*ms, 1)
}

func TestNextWake(t *testing.T) {
	w := newTestWheel(8)
	if _, ok := w.NextWake(); ok {
		t.Fatal("NextWake on an empty wheel reported a slot")
	}
	w.Add("/a", t0+35*ms)
	if at, ok := w.NextWake(); !ok || at != t0+40*ms {
		t.Fatalf("NextWake = %d, %v; want t0+40ms", at-t0, ok)
	}
	w.Add("/b", t0+15*ms)
	if at, ok := w.NextWake(); !ok || at != t0+20*ms {
		t.Fatalf("NextWake = %d, %v; want t0+20ms", at-t0, ok)
	}
	w.Remove("/a")
	w.Remove("/b")
	// A deadline 100 ticks away sits in slot (tick 101) mod 8, first
	// reached after 5 ticks; the wheel wakes there and finds it early.
	w.Add("/far", t0+1003*ms)
	if at, ok := w.NextWake(); !ok || at != t0+50*ms {
		t.Fatalf("NextWake = %d, %v; want t0+50ms", at-t0, ok)
	}
	// The search wraps around the end of the ring.
	wantDue(t, w, t0+60*ms, 0)
	if at, ok := w.NextWake(); !ok || at != t0+130*ms {
		t.Fatalf("NextWake after wrap = %d, %v; want t0+130ms", at-t0, ok)
	}
	// Due deadlines are not in any slot.
	w.Remove("/far")
	w.Add("/due", t0+1*ms)
	if _, ok := w.NextWake(); ok {
		t.Fatal("NextWake reported a slot for a deadline already due")
	}
}

// TestAgainstModel drives the wheel with random operations and checks it
// against a plain map after every Advance.
func TestAgainstModel(t *testing.T) {
	for _, slots := range []int{1, 16, 128} {
		rng := rand.New(rand.NewPCG(uint64(slots), 7))
		w := newTestWheel(slots)
		model := map[string]int64{}
		now := t0
		for step := range 20000 {
			path := fmt.Sprintf("/k%d", rng.IntN(300))
			switch op := rng.IntN(10); {
			case op < 5:
				at := now + rng.Int64N(3000*ms) - 100*ms
				w.Add(path, at)
				model[path] = at
			case op < 7:
				_, had := model[path]
				if got := w.Remove(path); got != had {
					t.Fatalf("slots %d step %d: Remove(%s) = %v, want %v", slots, step, path, got, had)
				}
				delete(model, path)
			default:
				now += rng.Int64N(40 * ms)
				if rng.IntN(50) == 0 {
					now += rng.Int64N(10000 * ms)
				}
				want := 0
				var minPending int64
				for _, at := range model {
					if at <= now {
						want++
					} else if minPending == 0 || at < minPending {
						minPending = at
					}
				}
				if got := w.Advance(now); got != want {
					t.Fatalf("slots %d step %d: Advance = %d due, want %d", slots, step, got, want)
				}
				wake, ok := w.NextWake()
				if ok != (minPending != 0) {
					t.Fatalf("slots %d step %d: NextWake ok = %v with minPending %d", slots, step, ok, minPending)
				}
				if ok && (wake <= now || wake > w.tickOf(minPending)*w.res) {
					t.Fatalf("slots %d step %d: NextWake t0%+d outside (now t0%+d, end of tick of t0%+d]",
						slots, step, wake-t0, now-t0, minPending-t0)
				}
			}
			if w.Len() != len(model) {
				t.Fatalf("slots %d step %d: Len = %d, want %d", slots, step, w.Len(), len(model))
			}
		}
	}
}
