// Package peers is the member's raft transport: it carries raftpb.Messages to
// the other members over HTTP/1.1 and hands theirs to a callback. It knows
// nothing about actors; the member wiring turns its callbacks (Deliver,
// Unreachable, SnapshotStatus) into messages for the raft actor, and mounts
// Handler on the peer listener under /raft/.
//
// Per peer there is one long-lived outbound stream: a POST to
// <peerURL>/raft/stream that asks to upgrade the connection to
// etcdv2-raft-stream/1. The receiver checks the sender's cluster id and that
// the stream is meant for it (412 otherwise), takes the connection over,
// answers 101 at once, and then reads length-prefixed marshaled messages
// (frame.go) from it for as long as it lives, delivering them in order. The
// frames go on the connection as they are: a chunked request body fed
// through a pipe cost a goroutine hand-off and a chunk header per flush, and
// 12% of a leader's CPU under a write load. Each direction of a pair has its
// own stream, so a member both dials and serves.
//
// Send is called from the raft actor and never blocks: per message it does a
// non-blocking send on the peer's bounded queue. A full queue drops the
// message (raft retransmits what matters) and reports the peer unreachable.
// The peer's stream goroutine takes everything queued before it flushes its
// buffer, so a burst leaves in a few writes and a lone heartbeat at once. A
// dead or slow peer costs a full queue and nothing else: no other peer waits
// for it, and a write stalled beyond WriteTimeout closes the connection. A
// broken stream is redialed with exponential backoff over the peer's URLs in
// turn; it is logged once when it goes down and once when it is back, and
// raft hears of it through Unreachable, spaced by UnreachableEvery.
//
// Snapshots can be hundreds of MB: they never enter the queue. Each peer has
// a snapshot sender that posts one at a time to /raft/snapshot: a frame with
// the message without its data, the data's length, then the data streamed
// from the message as it is. The receiver reassembles the message, delivers
// it and only then answers, so SnapshotStatus(ok) means the raft actor has
// it; any failure reports false.
//
// Why not etcd's rafthttp: go.etcd.io/etcd/server/v3/etcdserver/api/rafthttp
// is shaped for etcdserver. It logs with zap, exports prometheus metrics,
// keeps its own stats (etcdserver/api/v2stats) and serves handlers that
// expect etcdserver's membership and version checks. Importing it brings
// go.etcd.io/etcd/server/v3, api/v3, client/pkg/v3 and pkg/v3, zap and
// multierr, prometheus client_golang/client_model/common/procfs, gogo and
// golang protobuf, go-semver, go-humanize, xiang90/probing and x/time. A
// program that starts a transport, mounts its handler and adds a peer was
// measured (go1.26, linux/amd64): 17.7 MB with rafthttp v3.6.5 (the newest
// in the module cache), 13.7 MB with this package; stripped, 12.2 MB against
// 9.4 MB. In the server the difference would be smaller, as protoactor
// already links prometheus. And it would not build here at all: v3.6.5's
// gogo-generated code needs raft v3.6's raftpb, not v3.7's pointer fields.
// What this package keeps from it is the shape: a stream per peer, snapshots
// apart, bounded buffers, drops rather than waits.
package peers
