package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/etcdv2/server/actors/system"
)

const restoreUsage = `Usage: etcdv2 restore --file FILE --data-dir DIR --name NAME
        --initial-cluster NAME=URL,... --initial-cluster-token TOKEN
        --initial-advertise-peer-urls URL,...

Makes a new data dir (DIR must not exist or be empty) for one member of a new
cluster, from a backup written by 'etcdv2 backup': every key, TTL (as the same
absolute expiration) and index of the backup; the next write gets the backup's
etcd index + 1. Restore each member of the new cluster from the same file with
its own --name and the same --initial-cluster and --initial-cluster-token;
the member and cluster ids derive from them as a new cluster's do. Then start
each member with the same flags. The file is checked whole first: a truncated
or altered backup is refused and nothing is written.

`

// runRestore is `etcdv2 restore`; it returns the exit code.
func runRestore(args []string, stderr io.Writer) int {
	log := toolLogger(stderr)
	fs := flag.NewFlagSet("etcdv2 restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, restoreUsage); fs.PrintDefaults() }
	file := fs.String("file", "", "The backup to restore.")
	name := fs.String("name", "default", "Human-readable name of the member the data dir is for.")
	dataDir := fs.String("data-dir", "", "Path to the new data directory (default ${name}.etcd).")
	cluster := fs.String("initial-cluster", "", "Initial cluster configuration of the new cluster (default ${name}=${initial-advertise-peer-urls}).")
	token := fs.String("initial-cluster-token", "etcd-cluster", "Initial cluster token of the new cluster.")
	advPeer := fs.String("initial-advertise-peer-urls", "http://127.0.0.1:2380", "This member's peer URLs, as it will advertise them.")
	if code, ok := parseToolFlags(fs, args, log); !ok {
		return code
	}
	if *file == "" {
		log.Error().Msg("--file is required")
		return 2
	}
	if *dataDir == "" {
		*dataDir = *name + ".etcd"
	}
	_, err := system.Restore(system.RestoreConfig{
		File: *file, DataDir: *dataDir, Name: *name, InitialCluster: *cluster,
		InitialClusterToken: *token, InitialAdvertisePeerURLs: splitList(*advPeer), Log: log,
	})
	if err != nil {
		log.Error().Err(err).Msg("restore refused")
		return 1
	}
	return 0
}

// splitList splits a comma-separated list of URLs, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}
