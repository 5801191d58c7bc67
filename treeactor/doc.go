// Package treeactor is the etcd v2 key space as one deterministic actor.
//
// The tree is a plain Store over one persistent B+tree of nodes keyed by
// full path, in an order where a directory's subtree follows it directly (a
// listing is one forward scan, already sorted). Pages are copied on write
// only after a view froze them, so a view costs nothing to take and never
// changes: reads are rendered from it on the asker's goroutine, and
// snapshots are serialized from it on a goroutine of their own, while the
// actor goes on applying. Nodes with a deadline sit in a min-heap so an
// expire sweep costs only the nodes it removes. The Store never reads a
// clock: writes carry their time inside the command, reads inside the
// request, and expiry happens only when an expire command is applied, so
// every member that applies the same log holds the same tree.
//
// The actor on top applies committed raft entries in order, answers each
// waiting proposal, hands the batch's events to the watch hub in one message,
// tells the expiry timer its earliest deadline when a batch moved it (the
// tree is the one owner of deadlines), answers a read with the key's lookup
// and the view to render it from, freezes the tree for raft snapshots in a
// compact versioned format, and says when it has caught up after a restart,
// so the member serves only from then.
//
// Behaviour copies etcd 3.5's v2 store (as probed on the reference), error
// causes and store counters included — even where etcd counts a refused
// compareAndDelete or a refused write on the root as a success — except for
// updating a directory's TTL, which follows etcd 2.x and the API document.
package treeactor
