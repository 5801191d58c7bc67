package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// newLogger is etcd's setupLogging with zerolog behind it: --logger zap is
// the only logger (its lines are JSON objects, as zap's are); --log-outputs
// is 'default' (stderr), 'stderr', 'stdout', or files, opened for appending.
// systemd's journal is not written: 'journal' is stderr.
func newLogger(logger string, outputs []string, level, format string) (zerolog.Logger, error) {
	switch logger {
	case "zap":
	case "capnslog":
		return zerolog.Logger{}, errors.New("--logger=capnslog is removed in v3.5")
	default:
		return zerolog.Logger{}, fmt.Errorf("unknown logger option %q", logger)
	}
	if len(outputs) == 0 {
		outputs = []string{"default"}
	}
	if len(outputs) > 1 {
		for _, o := range outputs {
			if o == "default" {
				return zerolog.Logger{}, errors.New(`multi logoutput for "default" is not supported yet`)
			}
		}
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("unrecognized level: %q", level)
	}
	var ws []io.Writer
	for _, o := range outputs {
		switch o {
		case "default", "stderr", "journal":
			ws = append(ws, os.Stderr)
		case "stdout":
			ws = append(ws, os.Stdout)
		default:
			f, err := os.OpenFile(o, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
			if err != nil {
				return zerolog.Logger{}, fmt.Errorf("couldn't open sink %q: %v", o, err)
			}
			ws = append(ws, f)
		}
	}
	w := ws[0]
	if len(ws) > 1 {
		w = zerolog.MultiLevelWriter(ws...)
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	default:
		return zerolog.Logger{}, errors.New("--log-format must be json or console")
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
