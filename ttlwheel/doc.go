// Package ttlwheel is the member's expiry timer: while the member leads, it
// asks raft to sweep the keys whose deadline has passed.
//
// It owns no deadlines. The tree owns them (in its ttl heap) and tells this
// actor only the earliest one, in a NextDeadline after each applied batch that
// moved it and after every restore. That is all a timer needs: the leader
// sleeps until that moment, then proposes a ProposeExpire stamped with its
// own clock. Once the sweep is committed and applied, the tree removes every
// node whose deadline is at or before the stamp, and its next NextDeadline
// lies past the stamp: that is the confirmation. A sweep that is lost
// (leadership lost mid-flight, a proposal dropped) leaves the tree's earliest
// deadline where it was, so the timer proposes again after RetryAfter.
//
// What the actor keeps is therefore only its alarm, whether it leads, and
// the state of its last sweep (its stamp, and how far it is known to reach).
// A follower, or a leader with nothing to expire, never wakes up.
package ttlwheel
