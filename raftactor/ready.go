package raftactor

import (
	"errors"
	"fmt"
	"time"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// runReady drains raft's work in the contract's order. In a lone member the
// entries persisted by one pass are committed by the Advance that ends it, so
// the next pass hands them to the tree without waiting for another batch.
func (r *raftActor) runReady() {
	for r.live() && r.rn.HasReady() {
		rd := r.rn.Ready()
		// 1. Durable first: nothing below may reveal state not on disk.
		if err := r.persist(&rd); err != nil {
			if we := (*writeError)(nil); errors.As(err, &we) {
				r.cannotWrite(we, &rd)
			} else {
				r.fail(fmt.Errorf("persist raft ready: %w", err))
			}
			return
		}
		// 2. Peers.
		r.sendMessages(rd.Messages)
		// 3. A snapshot from the leader replaces the tree.
		if !raft.IsEmptySnap(rd.Snapshot) {
			r.restored(rd.Snapshot)
		}
		// 4. Committed entries, with their waiters, in one message.
		if len(rd.CommittedEntries) > 0 && !r.apply(rd.CommittedEntries) {
			return
		}
		// 5. Confirmed read indexes.
		if len(rd.ReadStates) > 0 {
			r.onReadStates(rd.ReadStates)
		}
		// 6. Leadership.
		if rd.SoftState != nil {
			r.softStateChanged(rd.SoftState)
		}
		// 7. Tell raft this Ready is done, so it may hand out the next.
		r.rn.Advance(rd)
		// Work that steps raft again waits until the Ready is acknowledged.
		if r.lead != 0 && len(r.queued) > 0 {
			r.flushQueued()
		}
		r.askEarly()
		// 8. Snapshot when enough entries have been applied since the last.
		r.maybeSnapshot()
	}
}

// persist writes the Ready's snapshot, entries and hard state in one bbolt
// transaction, then shows them to raft's memory view. A hard state whose
// only change is the commit index is not worth a commit of its own (raft
// re-learns commit after a restart): it rides along with the next one.
func (r *raftActor) persist(rd *raft.Ready) error {
	hsChanged := !raft.IsEmptyHardState(rd.HardState)
	if hsChanged {
		r.hardState = rd.HardState
		r.term = rd.HardState.GetTerm()
	}
	hasSnap := !raft.IsEmptySnap(rd.Snapshot)
	if rd.MustSync || hasSnap {
		w := logWrite{entries: rd.Entries}
		if hasSnap {
			w.snapshot = rd.Snapshot
			w.dropEntries = true
		}
		if hsChanged || r.hsDirty {
			w.hardState = r.hardState
		}
		if err := r.store.write(&w); err != nil {
			return &writeError{err}
		}
		r.hsDirty = false
	} else if hsChanged {
		r.hsDirty = true
	}
	if hasSnap {
		if err := r.mem.ApplySnapshot(withoutImage(rd.Snapshot)); err != nil {
			return err
		}
	}
	if hsChanged {
		if err := r.mem.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	if err := r.mem.Append(rd.Entries); err != nil {
		return err
	}
	r.durable, _ = r.mem.LastIndex()
	return nil
}

func (r *raftActor) sendMessages(msgs []*raftpb.Message) {
	if len(msgs) == 0 || r.cfg.Transport == nil {
		return
	}
	for _, m := range msgs {
		if m.GetType() == raftpb.MsgApp {
			r.sendAppends++
		}
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
			if e.GetType() != raftpb.EntryNormal {
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

func (r *raftActor) applyConfChange(e *raftpb.Entry) error {
	var cc raftpb.ConfChangeI
	if e.GetType() == raftpb.EntryConfChange {
		var c raftpb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &c); err != nil {
			return fmt.Errorf("raft entry %d: conf change: %w", e.GetIndex(), err)
		}
		cc = &c
	} else {
		var c raftpb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &c); err != nil {
			return fmt.Errorf("raft entry %d: conf change: %w", e.GetIndex(), err)
		}
		cc = &c
	}
	cs := r.rn.ApplyConfChange(cc)
	r.conf.applied(e.GetIndex(), cs)
	// Membership changes are rare: written at once, on their own.
	if err := r.store.write(&logWrite{confState: cs}); err != nil {
		return fmt.Errorf("persist conf state: %w", err)
	}
	r.log.Info().Uint64("index", e.GetIndex()).Uints64("voters", cs.GetVoters()).
		Uints64("learners", cs.GetLearners()).Msg("membership applied")
	return nil
}

func (r *raftActor) softStateChanged(ss *raft.SoftState) {
	wasLeader := r.isLeader
	leadChanged := ss.Lead != r.lead
	r.lead = ss.Lead
	r.isLeader = ss.RaftState == raft.StateLeader
	if leadChanged && ss.Lead != 0 {
		r.leaderSince = time.Now().UnixNano()
	}
	r.leaderChanged(wasLeader)
	r.log.Info().Str("lead", actors.HexID(ss.Lead)).Uint64("term", r.term).
		Str("state", ss.RaftState.String()).Msg("raft state changed")
	r.send(r.cfg.PIDs.Wheel, &actors.LeaderChanged{IsLeader: r.isLeader, Lead: ss.Lead, Term: r.term})
}
