// Package actortest holds what the actors' tests share: an actor system that
// keeps quiet, so a test's output shows only what the test says.
package actortest

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// QuietSystem is an actor system whose own logs are discarded.
func QuietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}
