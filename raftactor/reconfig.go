package raftactor

// Changing the membership: a MemberChange from the front becomes a raft
// conf change carrying its member; applying it changes raft's voters and the
// membership together. A member also publishes its own name and client URLs
// once the applied membership disagrees with its flags.

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// removedDelay is how long a member that applied its own removal goes on,
// so that the answer to the DELETE and the entry's commit reach the others.
const removedDelay = time.Second

// errRemoved is etcd's word for a member that has been removed.
const errRemoved = "the member has been permanently removed from the cluster"

func (r *raftActor) onMemberChange(m *actors.MemberChange) {
	refuse := func(status int, msg string) {
		m.Status, m.Message = status, msg
		actors.Answer(r.log, m.Done, m)
	}
	if !r.live() || r.lead == 0 {
		refuse(http.StatusInternalServerError, "Internal Server Error")
		return
	}
	mem := r.conf.members()
	var cc raftpb.ConfChange
	mb := m.Member
	switch m.Kind {
	case actors.MemberAdd:
		mb = actors.Member{ID: actors.NewMemberID(mb.PeerURLs, r.cfg.ClusterToken, time.Now().Unix()), PeerURLs: mb.PeerURLs}
		if _, ok := mem.find(mb.ID); ok || mem.isRemoved(mb.ID) {
			refuse(http.StatusConflict, actors.ErrMemberIDExists)
			return
		}
		if mem.peerURLTaken(mb.PeerURLs, 0) {
			refuse(http.StatusConflict, actors.ErrMemberPeerURLExists)
			return
		}
		if r.cfg.StrictReconfigCheck && !r.readyFor(len(mem.Members)+1, 0) {
			refuse(http.StatusInternalServerError, "Internal Server Error")
			return
		}
		cc.Type = raftpb.ConfChangeAddNode.Enum()
	case actors.MemberRemove:
		if mem.isRemoved(mb.ID) {
			refuse(http.StatusGone, "Member permanently removed: "+actors.HexID(mb.ID))
			return
		}
		if _, ok := mem.find(mb.ID); !ok {
			refuse(http.StatusNotFound, "No such member: "+actors.HexID(mb.ID))
			return
		}
		if r.cfg.StrictReconfigCheck && !r.readyFor(len(mem.Members)-1, mb.ID) {
			refuse(http.StatusInternalServerError, "Internal Server Error")
			return
		}
		cc.Type = raftpb.ConfChangeRemoveNode.Enum()
	case actors.MemberUpdate:
		old, ok := mem.find(mb.ID)
		switch {
		case mem.isRemoved(mb.ID):
			refuse(http.StatusInternalServerError, "Internal Server Error")
			return
		case !ok:
			refuse(http.StatusNotFound, "No such member: "+actors.HexID(mb.ID))
			return
		case mem.peerURLTaken(mb.PeerURLs, mb.ID):
			refuse(http.StatusConflict, actors.ErrMemberPeerURLExists)
			return
		}
		old.PeerURLs = mb.PeerURLs
		mb = old
		cc.Type = raftpb.ConfChangeUpdateNode.Enum()
	default:
		refuse(http.StatusBadRequest, "unknown membership change")
		return
	}
	id := r.ids.take()
	cc.NodeId = &mb.ID
	cc.Context = encodeContext(memberContext{ReqID: id, Member: mb})
	if err := r.rn.ProposeConfChange(&cc); err != nil {
		r.log.Warn().Err(err).Msg("propose membership change")
		refuse(http.StatusInternalServerError, "Internal Server Error")
		return
	}
	r.changes[id] = m
	r.scheduleReady()
}

// healthInterval is how long etcd wants a peer connected before it counts
// as started for the strict reconfiguration check.
const healthInterval = 5 * time.Second

// readyFor is etcd's strict check: after the change the cluster has
// members voters, of which at least a quorum must be started: this member
// and every peer connected for healthInterval, except the one leaving.
func (r *raftActor) readyFor(members int, leaving uint64) bool {
	since := time.Now().Add(-healthInterval)
	started := 0
	for _, mb := range r.conf.members().Members {
		if mb.ID == leaving {
			continue
		}
		if mb.ID == r.cfg.ID {
			started++
		} else if t := r.cfg.Transport; t != nil {
			if up := t.ActiveSince(mb.ID); !up.IsZero() && up.Before(since) {
				started++
			}
		}
	}
	return started >= members/2+1
}

// applyConfChange applies a committed conf change to raft and to the
// membership. A change that the membership before it refuses (a second add
// of one id, a peer URL taken meanwhile) reaches raft as a change of no one,
// as etcd does, so that every member refuses it alike. replayed: the entry
// was applied before (raft is being rebuilt), only raft needs it.
func (r *raftActor) applyConfChange(e *raftpb.Entry) error {
	if e.GetType() == raftpb.EntryConfChangeV2 {
		// Never proposed here; raft's own (joint consensus) changes are
		// applied as they are.
		var c raftpb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &c); err != nil {
			return fmt.Errorf("raft entry %d: conf change: %w", e.GetIndex(), err)
		}
		cs := r.rn.ApplyConfChange(&c)
		if e.GetIndex() > r.applied {
			r.confChanged(e.GetIndex(), cs, r.conf.members())
		}
		return nil
	}
	var cc raftpb.ConfChange
	if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
		return fmt.Errorf("raft entry %d: conf change: %w", e.GetIndex(), err)
	}
	replayed := e.GetIndex() <= r.applied
	before := r.conf.at(e.GetIndex() - 1).mem
	c, err := decodeContext(cc.GetContext(), cc.GetNodeId())
	if err != nil {
		return fmt.Errorf("raft entry %d: conf change context: %w", e.GetIndex(), err)
	}
	mb := c.Member
	after, status, msg := before, 0, ""
	switch cc.GetType() {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		if known, ok := r.cfg.initial().find(mb.ID); ok && len(mb.PeerURLs) == 0 {
			mb = known // a bootstrap entry of an older build: the flags know it
		}
		switch _, ok := before.find(mb.ID); {
		case ok || before.isRemoved(mb.ID):
			status, msg = http.StatusConflict, actors.ErrMemberIDExists
		case before.peerURLTaken(mb.PeerURLs, mb.ID):
			status, msg = http.StatusConflict, actors.ErrMemberPeerURLExists
		default:
			if mb.ID == r.cfg.ID {
				// The flags know our name; the client URLs come by publishing.
				if self, ok := r.cfg.initial().find(mb.ID); ok && mb.Name == "" {
					mb.Name = self.Name
				}
			}
			after = before.with(mb)
		}
	case raftpb.ConfChangeRemoveNode:
		switch _, ok := before.find(mb.ID); {
		case before.isRemoved(mb.ID):
			status, msg = http.StatusGone, "Member permanently removed: "+actors.HexID(mb.ID)
		case !ok:
			status, msg = http.StatusNotFound, "No such member: "+actors.HexID(mb.ID)
		default:
			after = before.without(mb.ID)
		}
	case raftpb.ConfChangeUpdateNode:
		old, ok := before.find(mb.ID)
		switch {
		case !ok:
			status, msg = http.StatusNotFound, "No such member: "+actors.HexID(mb.ID)
		case before.peerURLTaken(mb.PeerURLs, mb.ID):
			status, msg = http.StatusConflict, actors.ErrMemberPeerURLExists
		default:
			old.PeerURLs = mb.PeerURLs
			mb = old
			after = before.with(old)
		}
	}
	if status != 0 {
		cc.NodeId = new(uint64(0))
		r.log.Warn().Uint64("index", e.GetIndex()).Str("member", actors.HexID(mb.ID)).Str("why", msg).Msg("membership change refused")
	}
	cs := r.rn.ApplyConfChange(&cc)
	if replayed {
		return nil
	}
	r.confChanged(e.GetIndex(), cs, after)
	if w, ok := r.changes[c.ReqID]; ok && c.ReqID != 0 {
		delete(r.changes, c.ReqID)
		w.Member, w.Status, w.Message = mb, status, msg
		actors.Answer(r.log, w.Done, w)
	}
	return nil
}

// confChanged records a membership applied at index and tells whom it
// concerns.
func (r *raftActor) confChanged(index uint64, cs *raftpb.ConfState, mem membership) {
	r.conf.applied(index, cs, mem)
	r.confApplied = true
	r.stats.track(cs.GetVoters(), r.cfg.ID)
	// Membership changes are rare: stored on their own, beside the log.
	r.ctx.Send(r.writer, &saveConfState{cs: cloneConf(cs)})
	r.log.Info().Uint64("index", index).Strs("voters", actors.HexIDs(cs.GetVoters())).
		Strs("learners", actors.HexIDs(cs.GetLearners())).Int("members", len(mem.Members)).Msg("membership applied")
	// Told once the whole batch is applied (runReady): a replay of several
	// changes must not make the transport drop and redial a peer midway.
	r.membersDirty = true
}

// applyPublish applies a member's published name and client URLs; a member
// not (or no longer) in the membership publishes nothing.
func (r *raftActor) applyPublish(e *raftpb.Entry) error {
	mb, err := decodePublish(e.GetData())
	if err != nil {
		return fmt.Errorf("raft entry %d: published member: %w", e.GetIndex(), err)
	}
	if e.GetIndex() <= r.applied {
		return nil
	}
	mem := r.conf.members()
	old, ok := mem.find(mb.ID)
	if !ok {
		return nil
	}
	old.Name, old.ClientURLs = mb.Name, mb.ClientURLs
	r.conf.applied(e.GetIndex(), r.conf.current(), mem.with(old))
	return nil
}

// membersChanged brings the transport in line with the membership and
// stops a member that finds itself removed.
func (r *raftActor) membersChanged() {
	mem := r.conf.members()
	talk := mem.Members
	if _, ok := mem.find(r.cfg.ID); !ok && r.cfg.JoinExisting {
		// Until the log says this member was added, it knows the cluster
		// only as the peers told it when it joined: it must answer them.
		talk = r.cfg.Members
	}
	if t := r.cfg.Transport; t != nil {
		seen := make(map[uint64]bool, len(talk))
		for _, mb := range talk {
			if mb.ID == r.cfg.ID || len(mb.PeerURLs) == 0 {
				continue
			}
			seen[mb.ID] = true
			old, ok := r.peerURLs[mb.ID]
			var err error
			switch {
			case !ok:
				err = t.AddPeer(mb.ID, mb.PeerURLs)
			case !slices.Equal(old, mb.PeerURLs):
				err = t.UpdatePeer(mb.ID, mb.PeerURLs)
			default:
				continue
			}
			if err != nil {
				r.log.Warn().Err(err).Str("peer", actors.HexID(mb.ID)).Strs("urls", mb.PeerURLs).Msg("peer not reachable at its URLs")
				continue
			}
			r.peerURLs[mb.ID] = mb.PeerURLs
		}
		for id := range r.peerURLs {
			if !seen[id] {
				t.RemovePeer(id)
				delete(r.peerURLs, id)
			}
		}
		for _, id := range mem.Removed {
			if !r.refused[id] {
				t.Refuse(id)
				r.refused[id] = true
			}
		}
	}
	if mem.isRemoved(r.cfg.ID) {
		r.selfRemoved("this member applied its own removal")
	}
}

// selfRemoved stops the member, a little later: the answer to the request
// that removed it, and the entry's commit, are still on their way.
func (r *raftActor) selfRemoved(how string) {
	if r.removed {
		return
	}
	r.removed = true
	r.log.Warn().Str("id", actors.HexID(r.cfg.ID)).Str("how", how).Msg(errRemoved)
	fail := r.cfg.Fail
	time.AfterFunc(removedDelay, func() {
		if fail != nil {
			fail(fmt.Errorf("etcdserver: %s", errRemoved))
		}
	})
}

// maybePublish proposes this member's name and client URLs while the
// applied membership has others, at most once an election timeout.
func (r *raftActor) maybePublish() {
	if !r.live() || r.lead == 0 || r.removed {
		return
	}
	self, ok := r.conf.members().find(r.cfg.ID)
	want := r.self
	if !ok || self.Name == want.Name && slices.Equal(self.ClientURLs, want.ClientURLs) {
		return
	}
	now := time.Now().UnixNano()
	if now-r.publishedAt < int64(time.Duration(r.cfg.ElectionTicks)*r.cfg.TickInterval) {
		return
	}
	r.publishedAt = now
	if err := r.rn.Propose(encodePublish(want)); err != nil {
		r.log.Debug().Err(err).Msg("publish member attributes")
		return
	}
	r.scheduleReady()
}

func withoutClientURLs(mb actors.Member) actors.Member {
	mb.ClientURLs = nil
	return mb
}
