package watchhub

import "github.com/etcdv2/server/actors"

// A member that has lost its leader sees no new events until it finds one,
// and may never: it can be the one cut off from its quorum. etcd v2 left its
// watches hanging there (etcd#7143); here they end with error 300
// "etcdserver: no leader", so that their clients watch again elsewhere, and
// a new watch gets the same error at once, until a leader is back.

// SetLeaderLost records whether the member is without a leader; losing it
// ends every watch.
func (h *Hub) SetLeaderLost(lost bool) {
	if lost == h.noLeader {
		return
	}
	h.noLeader = lost
	if !lost {
		h.log.Info().Msg("leader back: watches are taken again")
		return
	}
	h.log.Warn().Int("watchers", len(h.byID)).Msg("no leader: every watch ends with \"" + actors.CauseNoLeader + "\"")
	for _, w := range h.byID {
		if w.ended {
			continue // its 401 is on its way
		}
		w.abort = actors.NoLeaderError(h.index)
		if !h.end(w) {
			h.markLagging(w)
		}
	}
}
