package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors/system"
)

var errHelp = errors.New("help requested")

// parseFlags reads etcd's flags; a flag not given on the command line may come
// from ETCD_<FLAG> (upper case, dashes as underscores), as in etcd, and the
// command line wins over the environment.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (system.Config, error) {
	fs := flag.NewFlagSet("etcdv2", flag.ContinueOnError)
	fs.SetOutput(out)
	name := fs.String("name", "default", "Human-readable name for this member.")
	dataDir := fs.String("data-dir", "", "Path to the data directory (default ${name}.etcd).")
	listenClient := fs.String("listen-client-urls", "http://127.0.0.1:2379", "List of URLs to listen on for client traffic.")
	advClient := fs.String("advertise-client-urls", "http://127.0.0.1:2379", "List of this member's client URLs to advertise to the public.")
	listenPeer := fs.String("listen-peer-urls", "http://127.0.0.1:2380", "List of URLs to listen on for peer traffic.")
	advPeer := fs.String("initial-advertise-peer-urls", "http://127.0.0.1:2380", "List of this member's peer URLs to advertise to the rest of the cluster.")
	cluster := fs.String("initial-cluster", "", "Initial cluster configuration for bootstrapping (default ${name}=${initial-advertise-peer-urls}).")
	clusterState := fs.String("initial-cluster-state", "new", "Initial cluster state ('new' or 'existing').")
	token := fs.String("initial-cluster-token", "etcd-cluster", "Initial cluster token for the etcd cluster during bootstrap.")
	forceNew := fs.Bool("force-new-cluster", false, "Force to create a new one member cluster: a member of a cluster that lost its quorum restarts on its data dir as the only member, with all its data.")
	strictReconfig := fs.Bool("strict-reconfig-check", true, "Reject reconfiguration requests that would cause quorum loss.")
	snapCount := fs.Uint64("snapshot-count", 10000, "Number of committed transactions to trigger a snapshot to disk.")
	heartbeat := fs.Uint("heartbeat-interval", 100, "Time (in milliseconds) of a heartbeat interval.")
	election := fs.Uint("election-timeout", 1000, "Time (in milliseconds) for an election to timeout.")
	logLevel := fs.String("log-level", "info", "Configures log level. Only supports debug, info, warn, error, panic, or fatal.")
	logFormat := fs.String("log-format", "json", "Log format: json or console.")
	watchHistory := fs.Int("watch-history", 1000, "Number of events kept for watchers with a waitIndex.")
	watchMaxWait := fs.Duration("watch-max-wait", 5*time.Minute, "Longest a long-poll watch is held before it ends with an empty 200.")
	pprof := fs.Bool("enable-pprof", false, "Enable runtime profiling data via HTTP server at /debug/pprof/.")
	maxBody := fs.Int("max-request-bytes", 10<<20, "Largest request body accepted.")
	listenMetrics := fs.String("listen-metrics-urls", "", "List of URLs to listen on for the /metrics and /health endpoints.")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return system.Config{}, errHelp
		}
		return system.Config{}, err
	}
	if fs.NArg() > 0 {
		return system.Config{}, errors.New("unexpected argument " + fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		key := "ETCD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(key); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = errors.New("invalid value " + v + " for " + key + ": " + err.Error())
			}
		}
	})
	if envErr != nil {
		return system.Config{}, envErr
	}
	if *heartbeat == 0 || *election < 5**heartbeat {
		return system.Config{}, errors.New("--election-timeout must be at least 5 times --heartbeat-interval")
	}
	if *clusterState != "new" && *clusterState != "existing" {
		return system.Config{}, errors.New("--initial-cluster-state must be 'new' or 'existing'")
	}
	if *dataDir == "" {
		*dataDir = *name + ".etcd"
	}
	log, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		return system.Config{}, err
	}
	return system.Config{
		Name:                     *name,
		DataDir:                  *dataDir,
		ListenClientURLs:         splitURLs(*listenClient),
		AdvertiseClientURLs:      splitURLs(*advClient),
		ListenPeerURLs:           splitURLs(*listenPeer),
		ListenMetricsURLs:        splitURLs(*listenMetrics),
		InitialAdvertisePeerURLs: splitURLs(*advPeer),
		InitialCluster:           *cluster,
		InitialClusterState:      *clusterState,
		InitialClusterToken:      *token,
		ForceNewCluster:          *forceNew,
		StrictReconfigCheck:      *strictReconfig,
		SnapshotCount:            *snapCount,
		HeartbeatInterval:        time.Duration(*heartbeat) * time.Millisecond,
		ElectionTimeout:          time.Duration(*election) * time.Millisecond,
		WatchHistory:             *watchHistory,
		WatchMaxWait:             *watchMaxWait,
		MaxRequestBytes:          *maxBody,
		EnablePprof:              *pprof,
		Log:                      log,
	}, nil
}

func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func newLogger(level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, errors.New("--log-level: unknown level " + level)
	}
	var w io.Writer = os.Stderr
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.RFC3339}
	default:
		return zerolog.Logger{}, errors.New("--log-format must be json or console")
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
