package raftactor

import (
	"time"

	"github.com/etcdv2/server/actors"
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

// propose hands p to raft and keeps it as a waiter until its entry commits.
func (r *raftActor) propose(p *actors.Propose) {
	c := &p.Cmd
	// raft keeps the slice in its log: a fresh one per entry.
	data := c.AppendEncoded(make([]byte, 0, 40+len(c.Path)+len(c.Value)+len(c.PrevValue)))
	if err := r.rn.Propose(data); err != nil {
		code := actors.EcodeRaftInternal
		if r.lead == 0 {
			code = actors.EcodeLeaderElect
		}
		r.replyErr(p, code, err.Error())
		return
	}
	r.waiters[c.ReqID] = p
	if !r.holdAppends() {
		r.scheduleReady()
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
	r.m.failed.Inc()
	p.Err = actors.NewError(code, cause, 0)
	actors.Answer(r.log, p.Done, p)
}
