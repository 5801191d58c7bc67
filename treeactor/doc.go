// Package treeactor is the etcd v2 key space as one deterministic actor.
//
// The tree is a plain Store: every node sits in one map keyed by its full
// path (a get is one hash lookup), directories keep their children in a slice
// (listings walk it without allocating), and nodes with a deadline sit in a
// min-heap so an expire sweep costs only the nodes it removes. The Store never
// reads a clock: writes carry their time inside the command, reads inside the
// request, and expiry happens only when an expire command is applied, so every
// member that applies the same log holds the same tree.
//
// The actor on top applies committed raft entries in order, answers each
// waiting proposal, hands the batch's events to the watch hub in one message,
// tells the expiry timer its earliest deadline when a batch moved it (the
// tree is the one owner of deadlines), answers reads straight from the tree
// into the asker's buffer, serializes the tree for raft snapshots in a
// compact versioned format, and says when it has caught up after a restart,
// so the member serves only from then.
//
// Behaviour copies etcd 3.5's v2 store (as probed on the reference), error
// causes and store counters included — even where etcd counts a refused
// compareAndDelete or a refused write on the root as a success — except for
// updating a directory's TTL, which follows etcd 2.x and the API document.
package treeactor
