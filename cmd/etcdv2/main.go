// Command etcdv2 is one member of an etcd v2 API server: etcd's flags (and
// their ETCD_* environment variables), the actor system behind them, and a
// clean stop on SIGINT/SIGTERM. `etcdv2 backup` and `etcdv2 restore` are its
// tools for online backups (backup.go, restore.go).
package main

import (
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
	if len(os.Args) > 1 && subcommands[os.Args[1]] != nil {
		os.Exit(subcommands[os.Args[1]](os.Args[2:], os.Stderr))
	}
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		if err == errHelp {
			os.Exit(0)
		}
		// The flags that choose the log's form are not known to be
		// good: the one line is zerolog's JSON, as every other.
		log := zerolog.New(os.Stderr).With().Timestamp().Logger()
		log.Error().Err(err).Msg("bad flags")
		os.Exit(2)
	}
	cfg.VerifyFile = verifyInChild
	m, err := system.Start(cfg)
	if err != nil {
		cfg.Log.Error().Err(err).Msg("cannot start")
		os.Exit(1)
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
	os.Exit(code)
}
