package raftactor

import (
	"testing"
	"time"
)

// Without a leader a member warns once after the grace, then once per
// noLeaderWarnEvery, however often it ticks; a leader resets it.
func TestLeaderWatchWarnsOnceThenSlowly(t *testing.T) {
	var w leaderWatch
	t0 := time.Unix(1000, 0)
	grace := 3 * time.Second
	warns := 0
	tick := func(at time.Duration, leader bool) {
		if w.check(t0.Add(at), leader, grace) {
			warns++
		}
	}
	for at := time.Duration(0); at < grace; at += 100 * time.Millisecond {
		tick(at, false)
	}
	if warns != 0 {
		t.Fatalf("%d warnings within the grace", warns)
	}
	for at := grace; at < grace+noLeaderWarnEvery; at += 100 * time.Millisecond {
		tick(at, false)
	}
	if warns != 1 {
		t.Fatalf("%d warnings in the first %v without a leader, want 1", warns, grace+noLeaderWarnEvery)
	}
	tick(grace+noLeaderWarnEvery, false)
	if warns != 2 {
		t.Fatalf("%d warnings, want a second after %v", warns, noLeaderWarnEvery)
	}
	tick(grace+noLeaderWarnEvery+time.Second, true)
	start := grace + noLeaderWarnEvery + 2*time.Second
	for at := start; at < start+grace; at += 100 * time.Millisecond {
		tick(at, false)
	}
	if warns != 2 {
		t.Fatalf("a leader found did not reset the grace: %d warnings", warns)
	}
}
