package raftactor

import "go.etcd.io/raft/v3/raftpb"

// The raft actor and the log writer talk only through these messages. They
// carry raft's own types and this package's logState, so they live here
// rather than in package actors. Requests are named for what is asked,
// answers for what happened.

// appendLog (raft → writer) asks for raft's MsgStorageAppend to be made
// durable: its snapshot, entries and hard state (nil: none the writer has
// not had). An append without responses needs no sync of its own (raft's
// contract): it rides along with the next one. The raft actor does not even
// send one that holds nothing but a hard state: it goes with the next
// request (hardState here, in saveSnapshot and in closeLog).
type appendLog struct {
	msg       *raftpb.Message
	hardState *raftpb.HardState
}

// logWritten (writer → raft) reports the appends one sync made durable, in
// the order they were asked: their snapshots and entries may now enter
// raft's memory view, and then their responses may be delivered. Every
// appendLog comes back in one (the raft actor counts them), unless a write
// fails first.
type logWritten struct {
	appends []*raftpb.Message
}

// saveSnapshot (raft → writer) asks for the tree's state as the snapshot,
// then the release of the WAL behind compactTo.
type saveSnapshot struct {
	snap      *raftpb.Snapshot
	compactTo uint64
	hardState *raftpb.HardState
}

// snapshotSaved (writer → raft): the snapshot is durable, or stale when a
// newer one (a leader's) was stored first and it was not written.
type snapshotSaved struct {
	snap      *raftpb.Snapshot
	compactTo uint64
	stale     bool
}

// saveConfState (raft → writer) asks for the membership just applied to be
// stored beside the log.
type saveConfState struct {
	cs *raftpb.ConfState
}

// readSnapshot (raft → writer) asks for the stored snapshot's image, which
// raft needs only to send a follower that fell behind the log.
type readSnapshot struct{}

// snapshotRead (writer → raft) is the stored snapshot's image.
type snapshotRead struct {
	index uint64
	data  []byte
	err   error
}

// logFailed (writer → raft): a write failed. The writer drops every request
// after it until asked to reopen the log; durable is the last index it made
// durable.
type logFailed struct {
	err     error
	durable uint64
}

// reopenLog (raft → writer) asks for the log to be brought back after a
// failed write, as a restart would open it.
type reopenLog struct{}

// logReopened (writer → raft) is what the log holds after it came back, or
// why it could not: a *writeError (try again later) or damage.
type logReopened struct {
	state *logState
	err   error
}

// closeLog (raft → writer, a request) asks for the log to be closed; with
// writeHardState the latest hard state is made durable first, so a clean
// stop leaves the commit index exact. The answer is the closeLog itself.
type closeLog struct {
	writeHardState bool
	hardState      *raftpb.HardState
}
