package raftactor

import (
	"fmt"

	"github.com/rs/zerolog"
)

// raftLogger adapts zerolog to raft's Logger. raft logs in printf style, off
// the hot path (elections, config changes, errors); formatting happens only
// for levels that are enabled. raft expects Fatal and Panic not to return: both
// panic, so the actor's supervisor (not os.Exit) decides what happens next.
type raftLogger struct{ l zerolog.Logger }

func (g raftLogger) Debug(v ...any) {
	if e := g.l.Debug(); e.Enabled() {
		e.Msg(fmt.Sprint(v...))
	}
}

func (g raftLogger) Debugf(f string, v ...any) {
	if e := g.l.Debug(); e.Enabled() {
		e.Msg(fmt.Sprintf(f, v...))
	}
}

// raft's own info lines go out at debug: they narrate every step of every
// election (five lines a second for a member that cannot reach a quorum),
// and the raft actor logs what an operator needs itself, once per change
// (state and leader, membership, a quorum out of reach).
func (g raftLogger) Info(v ...any) {
	if e := g.l.Debug(); e.Enabled() {
		e.Msg(fmt.Sprint(v...))
	}
}

func (g raftLogger) Infof(f string, v ...any) {
	if e := g.l.Debug(); e.Enabled() {
		e.Msg(fmt.Sprintf(f, v...))
	}
}

func (g raftLogger) Warning(v ...any) {
	if e := g.l.Warn(); e.Enabled() {
		e.Msg(fmt.Sprint(v...))
	}
}

func (g raftLogger) Warningf(f string, v ...any) {
	if e := g.l.Warn(); e.Enabled() {
		e.Msg(fmt.Sprintf(f, v...))
	}
}

func (g raftLogger) Error(v ...any) {
	if e := g.l.Error(); e.Enabled() {
		e.Msg(fmt.Sprint(v...))
	}
}

func (g raftLogger) Errorf(f string, v ...any) {
	if e := g.l.Error(); e.Enabled() {
		e.Msg(fmt.Sprintf(f, v...))
	}
}

func (g raftLogger) Fatal(v ...any)            { g.die(fmt.Sprint(v...)) }
func (g raftLogger) Fatalf(f string, v ...any) { g.die(fmt.Sprintf(f, v...)) }
func (g raftLogger) Panic(v ...any)            { g.die(fmt.Sprint(v...)) }
func (g raftLogger) Panicf(f string, v ...any) { g.die(fmt.Sprintf(f, v...)) }

func (g raftLogger) die(msg string) {
	g.l.Error().Msg(msg)
	panic(msg)
}
