package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors/backupfile"
	"github.com/etcdv2/server/httpfront"
	"github.com/etcdv2/server/raftactor/wal"
)

// subcommands are the tools of the binary, chosen by its first argument;
// anything else starts a member.
var subcommands = map[string]func(args []string, stderr io.Writer) int{
	"backup":  runBackup,
	"restore": runRestore,
}

const backupUsage = `Usage: etcdv2 backup --endpoints URL[,URL...] --file FILE

Takes an online, consistent backup of a running member's key space: every
key with its value, TTL, indexes, hidden keys and directories, at one etcd
index that includes every write acknowledged before the backup began. It is
read from GET <client URL>` + httpfront.BackupPath + ` (the member's first endpoint that
answers), checked, and written to FILE (through FILE.part, renamed once whole).
Restore it with 'etcdv2 restore'.

`

// runBackup is `etcdv2 backup`; it returns the exit code.
func runBackup(args []string, stderr io.Writer) int {
	log := toolLogger(stderr)
	fs := flag.NewFlagSet("etcdv2 backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); fs.PrintDefaults() }
	endpoints := fs.String("endpoints", "http://127.0.0.1:2379", "Client URLs of the member to back up; tried in order until one answers.")
	file := fs.String("file", "", "File to write the backup to (replaced if it exists).")
	dial := fs.Duration("dial-timeout", 2*time.Second, "Longest wait to connect to an endpoint.")
	wait := fs.Duration("header-timeout", time.Minute, "Longest wait for an endpoint to start sending the backup.")
	if code, ok := parseToolFlags(fs, args, log); !ok {
		return code
	}
	if *file == "" {
		log.Error().Msg("--file is required")
		return 2
	}
	c := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: *dial}).DialContext,
		ResponseHeaderTimeout: *wait,
	}}
	var errs []error
	for _, ep := range splitList(*endpoints) {
		start := time.Now()
		h, n, err := fetchBackup(c, ep, *file)
		if err != nil {
			log.Warn().Err(err).Str("endpoint", ep).Msg("backup failed")
			errs = append(errs, err)
			continue
		}
		log.Info().Str("endpoint", ep).Str("file", *file).Uint64("etcdIndex", h.EtcdIndex).Uint64("raftIndex", h.RaftIndex).
			Int64("bytes", n).Dur("took", time.Since(start)).Msg("backup written")
		return 0
	}
	if len(errs) == 0 {
		log.Error().Msg("--endpoints lists no URL")
		return 2
	}
	log.Error().Err(errors.Join(errs...)).Msg("no endpoint gave a backup")
	return 1
}

// fetchBackup streams the backup of one endpoint into file.part, checking it
// on the way, and renames it to file once it is whole and durable.
func fetchBackup(c *http.Client, endpoint, file string) (backupfile.Header, int64, error) {
	var h backupfile.Header
	resp, err := c.Get(strings.TrimSuffix(endpoint, "/") + httpfront.BackupPath)
	if err != nil {
		return h, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return h, 0, fmt.Errorf("%s: %s: %s", endpoint, resp.Status, strings.TrimSpace(string(msg)))
	}
	part := file + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return h, 0, err
	}
	cw := &countWriter{w: f}
	h, err = backupfile.Verify(io.TeeReader(resp.Body, cw))
	if err == nil {
		err = cw.err
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, file)
	}
	if err == nil {
		err = wal.SyncDir(filepath.Dir(file))
	}
	if err != nil {
		os.Remove(part)
		return h, 0, fmt.Errorf("%s: %w", endpoint, err)
	}
	return h, cw.n, nil
}

// countWriter counts what it writes and keeps its first error: a TeeReader
// would otherwise hand a failed write back as a failed read.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// toolLogger is the tools' log: zerolog's JSON lines on stderr, as the
// member's.
func toolLogger(w io.Writer) zerolog.Logger {
	return zerolog.New(w).With().Timestamp().Logger()
}

// parseToolFlags parses a tool's flags; ok false means exit with code (0
// after --help).
func parseToolFlags(fs *flag.FlagSet, args []string, log zerolog.Logger) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		log.Error().Err(err).Msg("bad flags")
		return 2, false
	}
	if fs.NArg() > 0 {
		log.Error().Str("argument", fs.Arg(0)).Msg("bad flags: unexpected argument")
		return 2, false
	}
	return 0, true
}
