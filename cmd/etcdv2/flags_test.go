package main

import (
	"io"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFlagDefaultsMatchEtcd(t *testing.T) {
	cfg, err := parseFlags(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "default" || cfg.DataDir != "default.etcd" || cfg.SnapshotCount != 10000 ||
		cfg.HeartbeatInterval != 100*time.Millisecond || cfg.ElectionTimeout != time.Second ||
		cfg.InitialClusterToken != "etcd-cluster" || cfg.InitialClusterState != "new" {
		t.Fatalf("defaults: %+v", cfg)
	}
	if got := cfg.ListenClientURLs; len(got) != 1 || got[0] != "http://127.0.0.1:2379" {
		t.Fatalf("listen client urls %v", got)
	}
	peers, err := cfg.Peers()
	if err != nil || len(peers) != 1 || peers[0].Name != "default" || peers[0].PeerURLs[0] != "http://127.0.0.1:2380" {
		t.Fatalf("peers %+v %v", peers, err)
	}
}

func TestEnvironmentFillsFlagsTheCommandLineLeavesOut(t *testing.T) {
	cfg, err := parseFlags([]string{"--name", "n1"}, env(map[string]string{
		"ETCD_NAME":           "fromenv",
		"ETCD_SNAPSHOT_COUNT": "42",
		"ETCD_DATA_DIR":       "/tmp/x",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "n1" || cfg.SnapshotCount != 42 || cfg.DataDir != "/tmp/x" {
		t.Fatalf("got name %q snapshot %d dir %q", cfg.Name, cfg.SnapshotCount, cfg.DataDir)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--election-timeout", "100"},
		{"--log-level", "loud"},
		{"--log-format", "xml"},
		{"--initial-cluster-state", "old"},
		{"stray"},
	} {
		if _, err := parseFlags(args, env(nil), io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := parseFlags(nil, env(map[string]string{"ETCD_SNAPSHOT_COUNT": "many"}), io.Discard); err == nil {
		t.Error("bad environment value accepted")
	}
}

// --strict-reconfig-check is on unless turned off, --force-new-cluster off
// unless asked for, as in etcd 3.5; both reach the member's config.
func TestReconfigAndForceFlags(t *testing.T) {
	cfg, err := parseFlags(nil, env(nil), io.Discard)
	if err != nil || !cfg.StrictReconfigCheck || cfg.ForceNewCluster {
		t.Fatalf("defaults: strict %v force %v (%v)", cfg.StrictReconfigCheck, cfg.ForceNewCluster, err)
	}
	cfg, err = parseFlags([]string{"--strict-reconfig-check=false", "--force-new-cluster"}, env(nil), io.Discard)
	if err != nil || cfg.StrictReconfigCheck || !cfg.ForceNewCluster {
		t.Fatalf("set: strict %v force %v (%v)", cfg.StrictReconfigCheck, cfg.ForceNewCluster, err)
	}
	cfg, err = parseFlags(nil, env(map[string]string{"ETCD_STRICT_RECONFIG_CHECK": "false", "ETCD_FORCE_NEW_CLUSTER": "true"}), io.Discard)
	if err != nil || cfg.StrictReconfigCheck || !cfg.ForceNewCluster {
		t.Fatalf("from the environment: strict %v force %v (%v)", cfg.StrictReconfigCheck, cfg.ForceNewCluster, err)
	}
}
