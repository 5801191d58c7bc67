// Command etcdv2 is one member of an etcd v2 API server: etcd 3.5's command
// line (its flags, ETCD_* environment variables and YAML config file), the
// actor system behind them, and a clean stop on SIGINT/SIGTERM. `etcdv2
// backup` and `etcdv2 restore` are its tools for online backups (backup.go,
// restore.go).
package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors/system"
)

func main() {
	if path := os.Getenv(verifyEnv); path != "" {
		os.Exit(verifyChild(path))
	}
	// Subcommands are chosen here by os.Args[1], before the member's
	// flags are read.
	if len(os.Args) > 1 && subcommands[os.Args[1]] != nil {
		os.Exit(subcommands[os.Args[1]](os.Args[2:], os.Stderr))
	}
	os.Exit(serve(os.Args[1:]))
}

// serve starts a member from etcd's command line and runs it until a signal
// or a failure; it returns the exit code.
func serve(args []string) int {
	inv, err := parseFlags(args, os.Environ())
	if err != nil {
		// The flags that choose the log's form are not known to be
		// good: the one line is zerolog's JSON, as every other.
		log := zerolog.New(os.Stderr).With().Timestamp().Logger()
		var ue usageError
		var fe fieldError
		switch {
		case errors.As(err, &ue):
			log.Error().Err(ue.error).Msg("bad flags")
			return 2
		case errors.As(err, &fe):
			log.Error().Str(fe.key, fe.val).Msg(fe.msg)
		default:
			log.Error().Err(err).Msg("failed to verify flags")
		}
		return 1
	}
	switch {
	case inv.help:
		printHelp(os.Stdout)
		return 0
	case inv.version:
		printVersion(os.Stdout)
		return 0
	}
	cfg := inv.cfg
	for _, n := range inv.notes {
		n.log(cfg.Log)
	}
	cfg.VerifyFile = verifyInChild
	m, err := system.Start(cfg)
	if err != nil {
		cfg.Log.Error().Err(err).Msg("cannot start")
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	code := 0
	select {
	case s := <-sigs:
		cfg.Log.Info().Str("signal", s.String()).Msg("stopping")
	case err := <-m.Failed():
		cfg.Log.Error().Err(err).Msg("member failed, stopping")
		code = 1
	}
	m.Stop()
	cfg.Log.Info().Msg("stopped")
	return code
}
