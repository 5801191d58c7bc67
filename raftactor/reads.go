package raftactor

import (
	"encoding/binary"
	"time"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3"
)

// readQueue holds quorum reads through their stages: waiting for the
// leader to commit an entry of its own term, gathering for the next round,
// waiting for raft to confirm the round's read index, and waiting for the
// tree to be handed everything up to it. Every read that arrives while the
// actor drains its mailbox shares one ReadIndex round (one heartbeat to the
// followers, or one question to the leader), however many there are.
type readQueue struct {
	seq   uint64
	early []*actors.Read
	batch []*actors.Read        // for the next round
	asked map[uint64]*readRound // by ReadIndex context
	ready []indexedRead         // in read-index order
}

// readRound is one ReadIndex question and the reads waiting on it.
type readRound struct {
	reads []*actors.Read
	at    int64 // unix ns it was (last) asked
}

// readRetry is how long a round waits for its answer before it is asked
// again: a question lost on its way to the leader is never answered (etcd
// asks again after the same time).
const readRetry = 500 * time.Millisecond

type indexedRead struct {
	index uint64
	read  *actors.Read
}

func (q *readQueue) init() { q.asked = make(map[uint64]*readRound) }

func (r *raftActor) onRead(m *actors.Read) {
	if !m.Quorum {
		r.forwardRead(m)
		return
	}
	switch {
	case !r.live():
		r.replyReadErr(m, r.deadCause())
	case r.lead == 0 || (r.isLeader && r.commitTerm != r.term):
		// No leader yet (as at start-up, before the first Ready), or a
		// leader that has not committed an entry of its own term: its
		// commit index may trail what was acknowledged before (a lone
		// member answers ReadIndex with it at once). Wait, boundedly.
		if len(r.reads.early) >= maxQueuedReads {
			r.replyReadErr(m, "etcdserver: no leader")
			return
		}
		r.reads.early = append(r.reads.early, m)
	default:
		// A follower's ReadIndex goes to its leader, which confirms its
		// leadership and answers with its commit index.
		r.askIndex(m)
	}
}

func (r *raftActor) askIndex(m *actors.Read) {
	r.reads.batch = append(r.reads.batch, m)
	r.scheduleReady()
}

// askRound asks raft for one read index for every read gathered since the
// last round; runReady calls it first, after the mailbox has been drained.
func (r *raftActor) askRound() {
	q := &r.reads
	if len(q.batch) == 0 {
		return
	}
	if r.lead == 0 {
		// Lost the leader meanwhile: the reads wait for the next one.
		q.early = append(q.early, q.batch...)
		q.batch = nil
		return
	}
	q.seq++
	q.asked[q.seq] = &readRound{reads: q.batch, at: time.Now().UnixNano()}
	q.batch = nil
	r.rn.ReadIndex(binary.BigEndian.AppendUint64(make([]byte, 0, 8), q.seq))
}

// retryRounds asks again the rounds unanswered for readRetry (on a tick).
func (r *raftActor) retryRounds() {
	q := &r.reads
	if len(q.asked) == 0 || r.lead == 0 {
		return
	}
	now := time.Now().UnixNano()
	for id, round := range q.asked {
		if now-round.at >= int64(readRetry) {
			round.at = now
			r.rn.ReadIndex(binary.BigEndian.AppendUint64(make([]byte, 0, 8), id))
			r.scheduleReady()
		}
	}
}

// askEarly issues the reads that waited for a leader, or for this term's
// first commit on the leader.
func (r *raftActor) askEarly() {
	if len(r.reads.early) == 0 || r.lead == 0 || (r.isLeader && r.commitTerm != r.term) {
		return
	}
	early := r.reads.early
	r.reads.early = nil
	for _, m := range early {
		r.askIndex(m)
	}
}

func (r *raftActor) onReadStates(states []raft.ReadState) {
	q := &r.reads
	for _, rs := range states {
		if len(rs.RequestCtx) != 8 {
			continue
		}
		id := binary.BigEndian.Uint64(rs.RequestCtx)
		round, ok := q.asked[id]
		if !ok {
			continue // answered already (a round asked twice)
		}
		delete(q.asked, id)
		for _, m := range round.reads {
			q.ready = append(q.ready, indexedRead{index: rs.Index, read: m})
		}
	}
	r.releaseReads()
}

// releaseReads forwards the reads whose index the tree has been handed: the
// tree's mailbox then delivers them after those entries.
func (r *raftActor) releaseReads() {
	q := &r.reads
	n := 0
	for _, ir := range q.ready {
		if ir.index > r.applied {
			q.ready[n] = ir
			n++
			continue
		}
		r.forwardRead(ir.read)
	}
	clear(q.ready[n:])
	q.ready = q.ready[:n]
}

// leaderChanged settles the reads a change of leadership affects: raft drops
// the leadership checks in flight when a leader steps down, and reads held
// for a leader cannot be served once another member leads.
func (r *raftActor) leaderChanged() {
	q := &r.reads
	if !r.isLeader {
		// A leader that stepped down drops its checks in flight, and a
		// follower's questions to its old leader go unanswered.
		for id, round := range q.asked {
			delete(q.asked, id)
			for _, m := range round.reads {
				r.replyReadErr(m, "etcdserver: leader changed")
			}
		}
	}
}

func (r *raftActor) failReads(cause string) {
	q := &r.reads
	for id, round := range q.asked {
		delete(q.asked, id)
		for _, m := range round.reads {
			r.replyReadErr(m, cause)
		}
	}
	for _, m := range append(q.early, q.batch...) {
		r.replyReadErr(m, cause)
	}
	q.batch = nil
	for _, ir := range q.ready {
		r.replyReadErr(ir.read, cause)
	}
	q.early, q.ready = nil, nil
}

func (r *raftActor) forwardRead(m *actors.Read) {
	if r.cfg.PIDs.Tree == nil {
		r.replyReadErr(m, "etcdserver: no store")
		return
	}
	r.ctx.Send(r.cfg.PIDs.Tree, m)
}

func (r *raftActor) replyReadErr(m *actors.Read, cause string) {
	m.Err = actors.NewError(actors.EcodeRaftInternal, cause, 0)
	actors.Answer(r.log, m.Done, m)
}
