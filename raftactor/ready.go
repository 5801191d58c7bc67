package raftactor

import (
	"fmt"
	"time"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// runReady drains raft's work. With asynchronous storage writes a Ready
// asks for its writes as messages: the append goes to the log writer, whose
// answer (logWritten) comes back later as a message of its own, so nothing
// here waits on the disk. Committed entries arrive only once they are
// durable here, and go to the tree at once.
func (r *raftActor) runReady() {
	if r.live() {
		r.askRound()
	}
	for r.live() && r.rn.HasReady() {
		rd := r.rn.Ready()
		if hs := rd.HardState; !raft.IsEmptyHardState(hs) {
			r.hardState, r.term, r.hsHeld = hs, hs.GetTerm(), true
			r.m.committed.Set(float64(hs.GetCommit()))
			// raft's memory view reads its hard state only when a RawNode
			// is built on it.
			if err := r.mem.SetHardState(hs); err != nil {
				r.fail(fmt.Errorf("raft hard state: %w", err))
				return
			}
		}
		// Peers, the log writer and the tree, each in raft's order.
		// The slice is ours once Ready returns: filtered in place.
		peers := rd.Messages[:0]
		for _, m := range rd.Messages {
			switch m.GetTo() {
			case raft.LocalAppendThread:
				if len(m.GetResponses()) == 0 && len(m.GetEntries()) == 0 && raft.IsEmptySnap(m.GetSnapshot()) {
					continue // a hard state nobody waits for: held
				}
				r.ctx.Send(r.writer, &appendLog{msg: m, hardState: r.heldHardState()})
				r.appendsOut++
			case raft.LocalApplyThread:
				if !r.apply(m.GetEntries()) {
					return
				}
				r.deliver(m.GetResponses())
			default:
				peers = append(peers, m)
			}
		}
		r.sendMessages(peers)
		if r.membersDirty {
			r.membersDirty = false
			r.membersChanged()
		}
		if r.confApplied {
			r.confApplied = false
			r.campaignIfAlone()
		}
		if len(rd.ReadStates) > 0 {
			r.onReadStates(rd.ReadStates)
		}
		if rd.SoftState != nil {
			r.softStateChanged(rd.SoftState)
		}
		if r.lead != 0 && len(r.queued) > 0 {
			r.flushQueued()
		}
		r.askEarly()
		r.maybeSnapshot()
	}
}

// heldHardState hands over the hard state if the writer has not had it.
func (r *raftActor) heldHardState() *raftpb.HardState {
	if !r.hsHeld {
		return nil
	}
	r.hsHeld = false
	return r.hardState
}

// onLogWritten shows raft's memory view what the writer made durable, in the
// order raft asked, and only then delivers each append's responses: raft may
// read the entries from storage as soon as it hears they are stable.
func (r *raftActor) onLogWritten(m *logWritten) {
	if !r.live() {
		return
	}
	r.appendsOut -= len(m.appends)
	var peers []*raftpb.Message
	for _, a := range m.appends {
		if snap := a.GetSnapshot(); snap != nil && !raft.IsEmptySnap(snap) {
			if err := r.mem.ApplySnapshot(withoutImage(snap)); err != nil {
				r.fail(fmt.Errorf("raft snapshot: %w", err))
				return
			}
			r.restored(snap)
		}
		if err := r.mem.Append(a.GetEntries()); err != nil {
			r.fail(fmt.Errorf("raft entries: %w", err))
			return
		}
		peers = r.stepLocal(a.GetResponses(), peers)
	}
	// The peers' answers of a whole sync go together: of the appends it
	// acknowledges to a leader, the last answer says all the others do.
	r.sendMessages(lastAppResps(peers))
	// At once rather than after the mailbox: what just became durable may
	// be committed now (a lone voter commits on its own append), and its
	// writers are waiting.
	r.runReady()
}

// deliver steps the responses meant for this member into raft and sends the
// others to their peers.
func (r *raftActor) deliver(msgs []*raftpb.Message) {
	r.sendMessages(r.stepLocal(msgs, nil))
}

// stepLocal steps the responses meant for this member into raft and
// appends the others to peers.
func (r *raftActor) stepLocal(msgs, peers []*raftpb.Message) []*raftpb.Message {
	for _, m := range msgs {
		if m.GetTo() != r.cfg.ID {
			peers = append(peers, m)
			continue
		}
		if err := r.rn.Step(m); err != nil {
			r.log.Warn().Err(err).Str("type", m.GetType().String()).Msg("local raft response refused")
		}
	}
	return peers
}

// lastAppResps drops each accepting append answer that a later one to the
// same leader in the same term supersedes: an answer acknowledges the log up
// to its index, so the leader learns from the last what it would from all
// (raft frees its in-flight appends up to the index it hears). Refusals and
// every other message stay, in order.
func lastAppResps(msgs []*raftpb.Message) []*raftpb.Message {
	if len(msgs) < 2 {
		return msgs
	}
	out := msgs[:0]
	for i, m := range msgs {
		if m.GetType() == raftpb.MsgAppResp && !m.GetReject() && supersededAfter(msgs[i+1:], m) {
			continue
		}
		out = append(out, m)
	}
	return out
}

func supersededAfter(later []*raftpb.Message, m *raftpb.Message) bool {
	for _, n := range later {
		if n.GetType() == raftpb.MsgAppResp && !n.GetReject() && n.GetTo() == m.GetTo() &&
			n.GetTerm() == m.GetTerm() && n.GetIndex() >= m.GetIndex() {
			return true
		}
	}
	return false
}

func (r *raftActor) sendMessages(msgs []*raftpb.Message) {
	if len(msgs) == 0 || r.cfg.Transport == nil {
		return
	}
	now := time.Now().UnixNano()
	for _, m := range msgs {
		if m.GetType() == raftpb.MsgApp {
			r.sendAppends++
			r.sendRates.add(now, appendSize(m))
		}
	}
	if r.isLeader {
		r.stats.sent(msgs, now)
	}
	r.cfg.Transport.Send(msgs)
}

// apply hands committed entries to the tree as one Committed, each normal
// entry decoded and matched with the proposal waiting for it. It reports
// false when an entry cannot be applied: the member stops there.
func (r *raftActor) apply(ents []*raftpb.Entry) bool {
	out := make([]actors.Entry, 0, len(ents))
	var bad error
	for _, e := range ents {
		if e.GetIndex() <= r.applied {
			// The tree has it (replayed to a new RawNode after the log
			// could not be written); raft still needs the membership.
			if e.GetType() != raftpb.EntryNormal && r.rn != nil {
				if bad = r.applyConfChange(e); bad != nil {
					break
				}
			}
			continue
		}
		ent := actors.Entry{Index: e.GetIndex(), Term: e.GetTerm()}
		switch e.GetType() {
		case raftpb.EntryNormal:
			if len(e.GetData()) == 0 {
				break // a new leader's empty entry
			}
			if isPublish(e.GetData()) {
				bad = r.applyPublish(e)
				break
			}
			cmd, err := actors.DecodeCommand(e.GetData())
			if err != nil {
				bad = fmt.Errorf("raft entry %d: %w", e.GetIndex(), err)
				break
			}
			ent.Cmd = cmd
			if w, ok := r.waiters[cmd.ReqID]; ok && cmd.ReqID != 0 {
				delete(r.waiters, cmd.ReqID)
				ent.Waiter = w
			}
		case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
			bad = r.applyConfChange(e)
		default:
			bad = fmt.Errorf("raft entry %d: unknown type %d", e.GetIndex(), e.GetType())
		}
		if bad != nil {
			break
		}
		out = append(out, ent)
	}
	if len(out) > 0 {
		last := out[len(out)-1]
		r.applied = last.Index
		r.m.applied.Set(float64(r.applied))
		r.commitTerm = last.Term
		if r.cfg.PIDs.Tree != nil {
			r.ctx.Send(r.cfg.PIDs.Tree, &actors.Committed{Entries: out})
		} else {
			// Nobody applies: answer rather than leave the waiters hanging.
			for _, e := range out {
				if e.Waiter != nil {
					r.replyErr(e.Waiter, actors.EcodeRaftInternal, "etcdserver: no store")
				}
			}
		}
		r.releaseReads()
	}
	if bad != nil {
		r.fail(bad)
		return false
	}
	return true
}

func (r *raftActor) softStateChanged(ss *raft.SoftState) {
	leadChanged := ss.Lead != r.lead
	r.lead = ss.Lead
	r.isLeader = ss.RaftState == raft.StateLeader
	if leadChanged && ss.Lead != 0 {
		r.leaderSince = time.Now().UnixNano()
		r.m.leaderChanges.Inc()
	}
	boolGauge(r.m.hasLeader, ss.Lead != 0)
	boolGauge(r.m.isLeader, r.isLeader)
	if leadChanged && r.isLeader {
		r.stats.reset(r.conf.current().GetVoters(), r.cfg.ID)
	}
	r.leaderChanged()
	r.log.Info().Str("lead", actors.HexID(ss.Lead)).Uint64("term", r.term).
		Str("state", ss.RaftState.String()).Msg("raft state changed")
	r.send(r.cfg.PIDs.Wheel, &actors.LeaderChanged{IsLeader: r.isLeader, Lead: ss.Lead, Term: r.term})
}
