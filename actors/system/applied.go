package system

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/etcdv2/server/actors"
)

// appliedTimeout bounds a peer's wait for the raft actor's membership.
const appliedTimeout = 2 * time.Second

// appliedMembers reads the membership the raft actor has applied, for the
// peer URLs' GET /members; nil if it does not answer in time.
func appliedMembers(root *actor.RootContext, raft *actor.PID) func() []actors.Member {
	return func() []actors.Member {
		ask := &actors.StatusAsk{Done: make(chan *actors.StatusAsk, 1)}
		root.Send(raft, ask)
		select {
		case a := <-ask.Done:
			return a.Status.Members
		case <-time.After(appliedTimeout):
			return nil
		}
	}
}
