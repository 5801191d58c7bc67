package raftactor

import (
	"cmp"
	"slices"
	"time"

	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
)

// leaderStats are the leader's figures of its followers for
// /v2/stats/leader: each append acknowledged counts as a success, with the
// time from the oldest append not yet acknowledged to its answer as the
// latency; a refused append or an unreachable follower is a failure.
type leaderStats struct {
	followers map[uint64]*actors.FollowerStats
	sentAt    map[uint64]int64 // unix ns of the oldest append awaiting an answer
}

// reset starts the figures over, for the followers of a new leader.
func (l *leaderStats) reset(voters []uint64, self uint64) {
	l.followers = map[uint64]*actors.FollowerStats{}
	l.sentAt = make(map[uint64]int64, len(voters))
	l.track(voters, self)
}

// track follows a change of membership: new voters start at etcd's
// initial figures, those gone are dropped.
func (l *leaderStats) track(voters []uint64, self uint64) {
	if l.followers == nil {
		return
	}
	keep := make(map[uint64]*actors.FollowerStats, len(voters))
	for _, id := range voters {
		if id == self {
			continue
		}
		if f := l.followers[id]; f != nil {
			keep[id] = f
		} else {
			f := actors.NewFollowerStats(id)
			keep[id] = &f
		}
	}
	l.followers = keep
}

func (l *leaderStats) sent(msgs []*raftpb.Message, now int64) {
	for _, m := range msgs {
		if m.GetType() != raftpb.MsgApp || l.followers == nil {
			continue
		}
		if to := m.GetTo(); l.sentAt[to] == 0 {
			l.sentAt[to] = now
		}
	}
}

func (l *leaderStats) answered(m *raftpb.Message) {
	f := l.followers[m.GetFrom()]
	if f == nil {
		return
	}
	if m.GetReject() {
		f.Fail++
		return
	}
	if at := l.sentAt[m.GetFrom()]; at != 0 {
		f.Succ(time.Now().UnixNano() - at)
		l.sentAt[m.GetFrom()] = 0
	}
}

func (l *leaderStats) unreachable(id uint64) {
	if f := l.followers[id]; f != nil {
		f.Fail++
		l.sentAt[id] = 0
	}
}

// copy is the figures sorted by id, for a Status.
func (l *leaderStats) copy() []actors.FollowerStats {
	out := make([]actors.FollowerStats, 0, len(l.followers))
	for _, f := range l.followers {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b actors.FollowerStats) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
