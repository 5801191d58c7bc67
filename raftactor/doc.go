// Package raftactor is the member's consensus: one actor that owns a
// go.etcd.io/raft/v3 RawNode, and its child, the log writer, that owns the
// durable raft log: the entries and the hard state in a write-ahead log
// (package wal), the snapshot and the membership in bbolt (logstore.go).
//
// Writes arrive as *actors.Propose. The actor stamps each with a request id,
// appends its encoded command to raft and keeps the proposal as a waiter. It
// never runs a Ready cycle per message: the first message that may create
// work sends the actor a private readyCheck, which the mailbox delivers after
// everything already queued, so every proposal waiting in the mailbox lands
// in one Ready.
//
// raft runs with asynchronous storage writes, so the raft actor never waits
// on the disk: a Ready's append goes to the log writer as a message, and
// ticks, proposals, peers' messages and reads go on while it syncs. Appends
// that queue up meanwhile share the writer's next fdatasync (group commit,
// logwriter.go). A lone voter, with nobody to send entries to, keeps new
// ones in raft's log while an append is at the writer, so the next Ready
// ships them all at once (holdAppends). When the writer reports a batch durable, its entries enter
// raft's memory view and raft hears so; entries raft then finds committed go
// to the tree actor as one *actors.Committed, each carrying its waiter; the
// tree answers the waiters once it has applied their entries on this member.
//
// The files are the durable truth; a raft.MemoryStorage is raft's read view,
// rebuilt on start from the latest snapshot and the entries after it, which
// are replayed to the tree after an *actors.Restore of that snapshot. Every
// SnapshotCount applied entries the actor asks the tree for its state, has
// the writer store it as the snapshot and compacts the log, keeping some
// slack for slow followers.
//
// A damaged file is refused before it is trusted (boltcheck.go, the seals of
// boltcodec.go, the WAL's CRCs); a write that fails (a full disk) stops
// writes but not the member, until it can come back (unwritable.go).
//
// Quorum reads confirm leadership with a ReadIndex and are forwarded to the
// tree only once every entry up to the read index has been handed to it: the
// tree's mailbox order then guarantees the read sees them.
//
// A single member (the whole cluster for now) campaigns at once on start.
// Messages for peers leave through a Transport and come back as *Inbound.
package raftactor
