package actors

import (
	"reflect"
	"testing"
)

func TestEventBinaryRoundTrip(t *testing.T) {
	evs := []*Event{
		{Action: ActionSet, Index: 4, At: 1_700_000_000_000_000_000,
			Node: &Node{Key: "/a", Value: "x\ny", ModifiedIndex: 4, CreatedIndex: 4, Expiration: 1_700_000_003_000_000_000}},
		{Action: ActionCompareAndSwap, Index: 9, Refresh: true, At: -1,
			Node:     &Node{Key: "/a", Value: "2", ModifiedIndex: 9, CreatedIndex: 4},
			PrevNode: &Node{Key: "/a", Value: "1", ModifiedIndex: 8, CreatedIndex: 4}},
		{Action: ActionExpire, Index: 12,
			Node:     &Node{Key: "/d", Dir: true, ModifiedIndex: 12, CreatedIndex: 5},
			PrevNode: &Node{Key: "/d", Dir: true, ModifiedIndex: 5, CreatedIndex: 5, Nodes: []*Node{{Key: "/d/k", Value: "v"}}},
			Removed:  []string{"/d/k", "/d"}},
		{Action: "unheard-of", Index: 13},
	}
	var b []byte
	for _, e := range evs {
		b = e.AppendBinary(b)
	}
	r := NewReader(b)
	for i, want := range evs {
		got := r.ReadEvent()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d: got %+v, want %+v", i, got, want)
		}
	}
	if r.Bad() || r.Rest() != 0 {
		t.Fatalf("bad %v, %d bytes left", r.Bad(), r.Rest())
	}
	// A cut anywhere inside an event is refused, never a panic or a
	// made-up event: only the events wholly before it come out.
	var ends []int
	var off []byte
	for _, e := range evs {
		off = e.AppendBinary(off)
		ends = append(ends, len(off))
	}
	for n := 0; n < len(b); n++ {
		whole := 0
		for whole < len(ends) && ends[whole] <= n {
			whole++
		}
		r := NewReader(b[:n])
		got := 0
		for r.ReadEvent() != nil {
			got++
		}
		if got != whole || !r.Bad() {
			t.Fatalf("cut at %d: %d events (bad %v), want %d then bad", n, got, r.Bad(), whole)
		}
	}
}

func FuzzReadEvent(f *testing.F) {
	f.Add((&Event{Action: ActionSet, Index: 1, Node: &Node{Key: "/k"}}).AppendBinary(nil))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		if e := r.ReadEvent(); e != nil {
			// What decodes survives encoding and decoding again.
			r2 := NewReader(e.AppendBinary(nil))
			if again := r2.ReadEvent(); !reflect.DeepEqual(again, e) || r2.Rest() != 0 {
				t.Fatalf("%x decoded to %+v, then to %+v", b, e, again)
			}
		}
	})
}
