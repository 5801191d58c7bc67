package actors

import (
	"fmt"

	"github.com/rs/zerolog"
)

// Answer hands an answered message back to its asker on the message's Done
// channel: the one way every actor replies. It never blocks the answering
// actor. The contract makes Done buffered with room for exactly this answer,
// so a nil or full channel means the asker broke it; the answer is then
// dropped, logged on log, and Answer reports false.
func Answer[T any](log zerolog.Logger, done chan T, m T) bool {
	select {
	case done <- m:
		return true
	default:
		log.Warn().Str("msg", fmt.Sprintf("%T", m)).Msg("answer dropped: Done missing or full")
		return false
	}
}
