package actors

import "github.com/asynkron/protoactor-go/actor"

// Names under which actors/system spawns each actor, so every actor can be
// given the others' PIDs before any of them exists.
const (
	NameRaft  = "raft"
	NameTree  = "tree"
	NameHub   = "hub"
	NameWheel = "wheel"
)

// PIDs addresses every actor of one member.
type PIDs struct {
	Raft, Tree, Hub, Wheel *actor.PID
}

// LocalPIDs names the actors of the member running in system.
func LocalPIDs(system *actor.ActorSystem) PIDs {
	return PIDs{
		Raft:  system.NewLocalPID(NameRaft),
		Tree:  system.NewLocalPID(NameTree),
		Hub:   system.NewLocalPID(NameHub),
		Wheel: system.NewLocalPID(NameWheel),
	}
}
