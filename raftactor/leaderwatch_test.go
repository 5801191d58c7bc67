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

// The member counts as having lost its leader once the grace has passed
// without one, and no longer from the first tick with one: tick reports
// each change once.
func TestLeaderWatchReportsLossAndReturn(t *testing.T) {
	var w leaderWatch
	t0 := time.Unix(1000, 0)
	grace := 3 * time.Second
	var changes []bool
	tick := func(at time.Duration, leader bool) {
		if _, changed := w.tick(t0.Add(at), leader, grace); changed {
			changes = append(changes, w.lost)
		}
	}
	tick(0, true)
	for at := time.Duration(0); at < grace; at += 100 * time.Millisecond {
		tick(time.Second+at, false)
	}
	if len(changes) != 0 {
		t.Fatalf("changes within the grace: %v", changes)
	}
	for at := grace; at < 3*grace; at += 100 * time.Millisecond {
		tick(time.Second+at, false)
	}
	if len(changes) != 1 || !changes[0] {
		t.Fatalf("changes after the grace: %v, want one loss", changes)
	}
	tick(10*time.Second, true)
	tick(11*time.Second, true)
	if len(changes) != 2 || changes[1] {
		t.Fatalf("changes with a leader back: %v, want loss then return", changes)
	}
}
