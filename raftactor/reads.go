package raftactor

import (
	"encoding/binary"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3"
)

// readQueue holds quorum reads through their three stages: waiting for the
// leader to commit an entry of its own term, waiting for raft to confirm the
// read index, and waiting for the tree to be handed everything up to it.
type readQueue struct {
	seq   uint64
	early []*actors.Read
	asked map[uint64]*actors.Read // by ReadIndex context
	ready []indexedRead           // in read-index order
}

type indexedRead struct {
	index uint64
	read  *actors.Read
}

func (q *readQueue) init() { q.asked = make(map[uint64]*actors.Read) }

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
	q := &r.reads
	q.seq++
	q.asked[q.seq] = m
	r.rn.ReadIndex(binary.BigEndian.AppendUint64(make([]byte, 0, 8), q.seq))
	r.scheduleReady()
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
		m, ok := q.asked[id]
		if !ok {
			continue
		}
		delete(q.asked, id)
		q.ready = append(q.ready, indexedRead{index: rs.Index, read: m})
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
		for id, m := range q.asked {
			delete(q.asked, id)
			r.replyReadErr(m, "etcdserver: leader changed")
		}
	}
}

func (r *raftActor) failReads(cause string) {
	q := &r.reads
	for id, m := range q.asked {
		delete(q.asked, id)
		r.replyReadErr(m, cause)
	}
	for _, m := range q.early {
		r.replyReadErr(m, cause)
	}
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
