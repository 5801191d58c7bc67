package peers

import (
	"testing"
	"time"
)

// A member the cluster removed (Refuse) is refused by its former peers with 410,
// and learns so from the refusal even if it missed the entry that removed
// it; ActiveSince follows the stream up and down.
func TestRemovedMemberIsTold(t *testing.T) {
	told := make(chan struct{}, 16)
	a := newNode(t, 1)
	b := newNode(t, 2, func(c *Config) { c.Removed = func() { told <- struct{}{} } })
	connect(t, a, b)
	warmUp(t, a, b)
	if a.tr.ActiveSince(2).IsZero() || b.tr.ActiveSince(1).IsZero() {
		t.Fatal("streams up, but not active")
	}
	if !a.tr.ActiveSince(99).IsZero() {
		t.Fatal("an unknown peer is active")
	}
	a.tr.Refuse(2)
	if !a.tr.ActiveSince(2).IsZero() {
		t.Fatal("a removed peer is active")
	}
	select {
	case <-told:
	case <-time.After(5 * time.Second):
		t.Fatal("the removed member was not told")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !b.tr.ActiveSince(1).IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("a stream refused for good still counts as active")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
