package raftactor

import "time"

// noLeaderWarnEvery is how often a member that still has no leader says so
// again, after the first time.
const noLeaderWarnEvery = 30 * time.Second

// leaderWatch decides when a member without a leader warns: once it has been
// without one for a few election timeouts (an election takes one or two),
// and then at a slow, bounded rate, never once per election attempt.
type leaderWatch struct {
	since  time.Time // when the member last lost (or never had) a leader
	warned time.Time // when it last warned
	// lost: no leader for the whole grace. The watch hub is told when this
	// changes: a member cut off from its quorum ends its watches.
	lost bool
}

// tick is check, and also reports whether lost changed with this tick.
func (w *leaderWatch) tick(now time.Time, hasLeader bool, after time.Duration) (warn, lostChanged bool) {
	was := w.lost
	warn = w.check(now, hasLeader, after)
	w.lost = !hasLeader && !w.since.IsZero() && now.Sub(w.since) >= after
	return warn, w.lost != was
}

// check is called on every tick; it reports whether to warn now.
func (w *leaderWatch) check(now time.Time, hasLeader bool, after time.Duration) bool {
	if hasLeader {
		*w = leaderWatch{}
		return false
	}
	if w.since.IsZero() {
		w.since = now
		return false
	}
	if now.Sub(w.since) < after || !w.warned.IsZero() && now.Sub(w.warned) < noLeaderWarnEvery {
		return false
	}
	w.warned = now
	return true
}
