package raftactor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
)

var tickMsg = &actors.Tick{}

// ticker drives raft's logical clock by mailing the actor a Tick every
// interval: raft itself never reads a clock.
type ticker struct {
	quit chan struct{}
	done chan struct{}
}

func startTicker(root *actor.RootContext, pid *actor.PID, every time.Duration) *ticker {
	t := &ticker{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				root.Send(pid, tickMsg)
			case <-t.quit:
				return
			}
		}
	}()
	return t
}

// stop ends the goroutine and waits for it (it never blocks for long: a
// send to a mailbox only enqueues).
func (t *ticker) stop() {
	close(t.quit)
	<-t.done
}
