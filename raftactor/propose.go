package raftactor

import "github.com/etcdv2/server/actors"

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
	r.queued = nil
	for i, p := range q {
		q[i] = nil
		r.propose(p)
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
	r.queued = nil
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
