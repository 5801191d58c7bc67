package system

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors/actortest"
)

// A stateful actor that panics stops the member with the panic's own words:
// before, anything but an error value was logged as "actor raft failed".
func TestGuardianKeepsThePanicReason(t *testing.T) {
	var got error
	g := &stopMember{fail: func(err error) { got = err }}
	sys := actortest.QuietSystem()
	defer sys.Shutdown()
	pid := sys.NewLocalPID("raft")
	g.HandleFailure(sys, noSupervisor{}, pid, nil, "page 7: invalid type: unknown<00>", nil)
	if got == nil || got.Error() != "actor raft failed: page 7: invalid type: unknown<00>" {
		t.Fatalf("fail got %v", got)
	}
}

type noSupervisor struct{}

func (noSupervisor) Children() []*actor.PID        { return nil }
func (noSupervisor) EscalateFailure(any, any)      {}
func (noSupervisor) RestartChildren(...*actor.PID) {}
func (noSupervisor) StopChildren(...*actor.PID)    {}
func (noSupervisor) ResumeChildren(...*actor.PID)  {}
