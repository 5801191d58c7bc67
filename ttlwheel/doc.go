// Package ttlwheel keeps the member's expiration deadlines and, while the
// member leads, asks raft to sweep the expired ones.
//
// The tree actor sends an ExpiryHint whenever a node's deadline is set,
// changed or gone. The wheel only has to answer one question fast: "has any
// deadline passed?" It never deletes anything itself. The leader proposes a
// ProposeExpire stamped with its clock; once that sweep is committed and
// applied, the tree removes every node whose deadline is at or before the
// stamp and sends an At=0 hint for each, and only then does the wheel forget
// them. A sweep that is lost (leadership lost mid-flight, proposal dropped) is
// therefore repaired by proposing again after a retry delay, because the
// deadlines are still there.
//
// The data structure is a hashed timing wheel (Varghese and Lauck's scheme 6):
// a ring of slots, each covering one Resolution of time, and a deadline lives
// in the slot of the tick that ends at or after it, whatever the revolution.
// A slot therefore mixes deadlines of several revolutions; a sweep of the slot
// moves only those at or before the clock onto the "due" list and leaves the
// later ones for their own revolution. We chose it over a hierarchical wheel
// because it has no cascading (a deadline is touched once per revolution,
// about every 41 s with the defaults, a cost that stays trivial even with a
// million keys) and over a heap because adding, replacing and removing are
// O(1) with no reordering. Entries sit in one pointer-free slice linked by
// int32 indexes, so a deadline costs no allocation of its own and nothing for
// the garbage collector to scan beyond the path index map.
//
// The actor ticks only while it leads and deadlines exist: an occupancy
// bitmap of the slots tells it when the next non-empty slot ends, and it
// sleeps until then (or until the retry delay of an unconfirmed sweep), so an
// idle server, or a follower, never wakes up.
package ttlwheel
