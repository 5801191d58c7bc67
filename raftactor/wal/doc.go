// Package wal is the raft log's write-ahead log: entries and hard states
// appended to preallocated segment files, one write and one fdatasync per
// batch, nothing else on the hot path.
//
// A record is framed as a 4-byte length, a 4-byte CRC-32C of what follows,
// a type byte and its payload (little-endian). A segment is named for its
// sequence number and the index of the first entry it may hold, and it opens
// with the hard state and the snapshot mark current when it was started, so
// any run of whole segments from one onward is self-contained and older
// segments can be deleted once a snapshot covers them.
//
// Replay reads every segment in order. An entry at an index already seen
// replaces it and everything after it (raft overwrote a follower's tail);
// a snapshot mark voids every entry at or before it. In the last segment a
// record that runs past the end of the file, or that has an all-zero sector
// (a write the crash interrupted), is a torn tail: it and everything after it
// were never acknowledged, and are cut. Any other record that fails its CRC,
// anywhere, is damage, and Open refuses the log.
//
// We wrote this rather than use etcd's server/storage/wal: it does the same
// framing and torn-tail repair, but comes with the etcd server module, whose
// dependency graph (110 modules, 20 MB for a program that only creates a WAL)
// is larger than this whole server.
package wal
