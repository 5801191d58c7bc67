package raftactor

import (
	"time"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
)

func (r *raftActor) onPropose(p *actors.Propose) {
	if !r.live() {
		r.replyErr(p, actors.EcodeRaftInternal, r.deadCause())
		return
	}
	p.Cmd.ReqID = r.ids.take()
	if r.lead == 0 {
		if len(r.queued) >= maxQueuedProposals {
			r.replyErr(p, actors.EcodeLeaderElect, "etcdserver: no leader")
			return
		}
		r.queued = append(r.queued, p)
		r.queuedAt = append(r.queuedAt, time.Now().UnixNano())
		return
	}
	r.propose(p)
}

// propose keeps p as a waiter until its entry commits, and its entry for
// the next round of proposals (flushProposals): every write that arrives
// while the actor drains its mailbox goes to raft as one proposal, so the
// leader sends each follower one append for all of them, not one each.
func (r *raftActor) propose(p *actors.Propose) {
	c := &p.Cmd
	// raft keeps the slice in its log: a fresh one per entry.
	data := c.AppendEncoded(make([]byte, 0, 40+len(c.Path)+len(c.Value)+len(c.PrevValue)))
	r.props = append(r.props, &raftpb.Entry{Data: data})
	r.propsFor = append(r.propsFor, p)
	r.waiters[c.ReqID] = p
	if !r.holdAppends() {
		r.scheduleReady()
	}
}

// flushProposals hands the gathered entries to raft in one MsgProp (runReady
// calls it first); if raft drops them, their writers are told why.
func (r *raftActor) flushProposals() {
	if len(r.props) == 0 {
		return
	}
	ents, ps := r.props, r.propsFor
	r.props, r.propsFor = nil, nil
	err := r.rn.Step(&raftpb.Message{Type: raftpb.MsgProp.Enum(), From: new(r.cfg.ID), Entries: ents})
	if err == nil {
		return
	}
	code := actors.EcodeRaftInternal
	if r.lead == 0 {
		code = actors.EcodeLeaderElect
	}
	for _, p := range ps {
		delete(r.waiters, p.Cmd.ReqID)
		r.replyErr(p, code, err.Error())
	}
}

// holdAppends reports whether new entries had better wait in raft's log for
// the writer to catch up. A lone voter has nobody to send them to, and the
// writer already has one batch syncing and the next queued: more appends
// now would only be more Readys and messages for the same next sync. They go
// with the Ready that follows the writer's next answer (onLogWritten).
func (r *raftActor) holdAppends() bool {
	return r.appendsOut >= maxAppendsOut && singleVoter(r.conf.current(), r.cfg.ID)
}

// flushQueued proposes what waited for a leader, now that there is one.
func (r *raftActor) flushQueued() {
	q := r.queued
	r.queued, r.queuedAt = nil, r.queuedAt[:0]
	for i, p := range q {
		q[i] = nil
		r.propose(p)
	}
}

// expireQueued fails the proposals that waited for a leader longer than
// the front waits for their answer (on a tick): their clients were told the
// request timed out, so they must not be applied later, when a leader comes.
func (r *raftActor) expireQueued() {
	if len(r.queued) == 0 || r.cfg.ProposalTimeout <= 0 {
		return
	}
	old := time.Now().UnixNano() - int64(r.cfg.ProposalTimeout)
	n := 0
	for n < len(r.queued) && r.queuedAt[n] <= old {
		r.replyErr(r.queued[n], actors.EcodeRaftInternal, "etcdserver: request timed out")
		r.queued[n] = nil
		n++
	}
	if n > 0 {
		r.queued, r.queuedAt = r.queued[n:], r.queuedAt[n:]
	}
}

func (r *raftActor) onProposeExpire(m *actors.ProposeExpire) {
	// Only the leader's clock may expire keys; a sweep from a member that
	// just lost leadership is simply late.
	if !r.live() || !r.isLeader {
		return
	}
	c := actors.Command{Op: actors.OpExpire, Now: m.Now}
	if err := r.rn.Propose(c.AppendEncoded(make([]byte, 0, 24))); err != nil {
		r.log.Warn().Err(err).Msg("propose expire")
		return
	}
	r.scheduleReady()
}

// failWaiters answers every proposal still held here; none is dropped.
func (r *raftActor) failWaiters(code int, cause string) {
	for id, p := range r.waiters {
		delete(r.waiters, id)
		r.replyErr(p, code, cause)
	}
	for _, p := range r.queued {
		r.replyErr(p, code, cause)
	}
	r.queued, r.queuedAt = nil, nil
	r.props, r.propsFor = nil, nil // their waiters were answered above
	for id, m := range r.changes {
		delete(r.changes, id)
		m.Status, m.Message = 500, "Internal Server Error"
		actors.Answer(r.log, m.Done, m)
	}
}

func (r *raftActor) deadCause() string {
	if r.unwritable != nil {
		return unwritableCause
	}
	if r.failed != nil {
		return "etcdserver: " + r.failed.Error()
	}
	return "etcdserver: server stopped"
}

func (r *raftActor) replyErr(p *actors.Propose, code int, cause string) {
	p.Err = actors.NewError(code, cause, 0)
	actors.Answer(r.log, p.Done, p)
}
