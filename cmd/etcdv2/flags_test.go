package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args []string, environ ...string) *invocation {
	t.Helper()
	inv, err := parseFlags(args, environ)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return inv
}

func TestFlagDefaultsMatchEtcd(t *testing.T) {
	cfg := parse(t, nil).cfg
	if cfg.Name != "default" || cfg.DataDir != "default.etcd" || cfg.SnapshotCount != 100000 ||
		cfg.HeartbeatInterval != 100*time.Millisecond || cfg.ElectionTimeout != time.Second ||
		cfg.InitialClusterToken != "etcd-cluster" || cfg.InitialClusterState != "new" ||
		!cfg.StrictReconfigCheck || cfg.ForceNewCluster || cfg.CORS != nil || cfg.ListenMetricsURLs != nil {
		t.Fatalf("defaults: %+v", cfg)
	}
	for _, got := range [][]string{cfg.ListenClientURLs, cfg.AdvertiseClientURLs} {
		if !reflect.DeepEqual(got, []string{"http://localhost:2379"}) {
			t.Fatalf("client urls %v", got)
		}
	}
	peers, err := cfg.Peers()
	if err != nil || len(peers) != 1 || peers[0].Name != "default" || peers[0].PeerURLs[0] != "http://localhost:2380" {
		t.Fatalf("peers %+v %v", peers, err)
	}
}

// Every flag etcd 3.5's --help lists (and the few it parses without
// listing) is accepted.
func TestEveryEtcdFlagIsDefined(t *testing.T) {
	fs := newFlagSet(newOptions())
	for _, name := range strings.Fields(`name data-dir wal-dir snapshot-count heartbeat-interval election-timeout
		initial-election-tick-advance listen-peer-urls listen-client-urls listen-client-http-urls max-snapshots max-wals
		quota-backend-bytes backend-bbolt-freelist-type backend-batch-interval backend-batch-limit max-txn-ops
		max-request-bytes max-concurrent-streams enable-grpc-gateway grpc-keepalive-min-time grpc-keepalive-interval
		grpc-keepalive-timeout socket-reuse-port socket-reuse-address raft-read-timeout raft-write-timeout
		initial-advertise-peer-urls initial-cluster initial-cluster-state initial-cluster-token advertise-client-urls
		discovery discovery-fallback discovery-proxy discovery-srv discovery-srv-name strict-reconfig-check pre-vote
		auto-compaction-retention auto-compaction-mode enable-v2 v2-deprecation cert-file key-file client-cert-auth
		client-cert-file client-key-file client-crl-file client-cert-allowed-hostname trusted-ca-file auto-tls
		peer-cert-file peer-key-file peer-client-cert-auth peer-trusted-ca-file peer-cert-allowed-cn
		peer-cert-allowed-hostname peer-auto-tls peer-client-cert-file peer-client-key-file self-signed-cert-validity
		peer-crl-file cipher-suites cors host-whitelist tls-min-version tls-max-version auth-token bcrypt-cost
		auth-token-ttl enable-pprof metrics listen-metrics-urls logger log-outputs log-level enable-log-rotation
		log-rotation-config-json experimental-enable-distributed-tracing experimental-distributed-tracing-address
		experimental-distributed-tracing-service-name experimental-distributed-tracing-instance-id
		experimental-distributed-tracing-sampling-rate proxy proxy-failure-wait proxy-refresh-interval
		proxy-dial-timeout proxy-write-timeout proxy-read-timeout experimental-initial-corrupt-check
		experimental-corrupt-check-time experimental-compact-hash-check-enabled experimental-compact-hash-check-time
		experimental-enable-v2v3 experimental-enable-lease-checkpoint experimental-enable-lease-checkpoint-persist
		experimental-compaction-batch-limit experimental-compaction-sleep-interval
		experimental-peer-skip-client-san-verification experimental-watch-progress-notify-interval
		experimental-downgrade-check-time experimental-memory-mlock experimental-warning-apply-duration
		experimental-txn-mode-write-with-shared-buffer experimental-bootstrap-defrag-threshold-megabytes
		experimental-stop-grpc-service-on-defrag experimental-snapshot-catchup-entries force-new-cluster
		unsafe-no-fsync config-file version`) {
		if fs.Lookup(name) == nil || fs.docs[name] == nil {
			t.Errorf("--%s is not defined", name)
		}
	}
}

// The command line and the environment as etcd's pkg/flags reads them: a
// flag left out takes ETCD_<FLAG>; a variable for a flag that is also given
// is refused; an ETCD_ variable that names no flag is warned about.
func TestEnvironment(t *testing.T) {
	inv := parse(t, []string{"--name", "n1"}, "ETCD_SNAPSHOT_COUNT=42", "ETCD_DATA_DIR=/tmp/x", "ETCD_FOO=bar", "PATH=/bin")
	if inv.cfg.Name != "n1" || inv.cfg.SnapshotCount != 42 || inv.cfg.DataDir != "/tmp/x" {
		t.Fatalf("got name %q snapshot %d dir %q", inv.cfg.Name, inv.cfg.SnapshotCount, inv.cfg.DataDir)
	}
	var warned, used []string
	for _, n := range inv.notes {
		switch n.msg {
		case "unrecognized environment variable":
			warned = append(warned, n.strs["environment-variable"]...)
		case "recognized and used environment variable":
			used = append(used, n.strs["variable-name"]...)
		}
	}
	if !reflect.DeepEqual(warned, []string{"ETCD_FOO=bar"}) || !reflect.DeepEqual(used, []string{"ETCD_DATA_DIR", "ETCD_SNAPSHOT_COUNT"}) {
		t.Fatalf("warned %q, used %q", warned, used)
	}
	for _, env := range []string{"ETCD_NAME=fromenv", "ETCD_NAME="} {
		_, err := parseFlags([]string{"--name", "n1"}, []string{env})
		var fe fieldError
		if !errors.As(err, &fe) || fe.msg != "conflicting environment variable is shadowed by corresponding command-line flag (either unset environment variable or disable flag))" || fe.val != "ETCD_NAME" {
			t.Fatalf("%s with --name: %v", env, err)
		}
	}
	if _, err := parseFlags(nil, []string{"ETCD_SNAPSHOT_COUNT=many"}); err == nil ||
		err.Error() != `invalid value "many" for ETCD_SNAPSHOT_COUNT: parse error` {
		t.Fatalf("bad environment value: %v", err)
	}
	inv = parse(t, nil, "ETCD_VERSION=1")
	if inv.version || len(inv.notes) != 1 || inv.notes[0].msg != "cannot set special environment variable" {
		t.Fatalf("ETCD_VERSION: version %v, notes %+v", inv.version, inv.notes)
	}
}

// Each refusal with etcd's words (a usageError exits 2, as the flag package
// refuses it in etcd; the rest exit 1).
func TestBadFlagsAreRefused(t *testing.T) {
	for _, c := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"--bogus"}, true, "flag provided but not defined: -bogus"},
		{[]string{"--initial-cluster-state", "old"}, true, `invalid value "old" for flag -initial-cluster-state: invalid value`},
		{[]string{"--max-request-bytes=-1"}, true, `invalid value "-1" for flag -max-request-bytes: parse error`},
		{[]string{"--watch-history=-1"}, true, `invalid value "-1" for flag -watch-history: parse error`},
		{[]string{"--snapshot-count=-1"}, true, `invalid value "-1" for flag -snapshot-count: parse error`},
		{[]string{"--enable-v2=maybe"}, true, `invalid boolean value "maybe" for -enable-v2: parse error`},
		{[]string{"--listen-client-urls=foo://1.2.3.4:2379"}, true, `invalid value "foo://1.2.3.4:2379" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: foo://1.2.3.4:2379`},
		{[]string{"--cors=http://a.com"}, true, `invalid value "http://a.com" for flag -cors: URL address does not have the form "host:port": http://a.com`},
		{[]string{"--v2-deprecation=bogus"}, true, `invalid value "bogus" for flag -v2-deprecation: invalid value "bogus"`},
		{[]string{"stray"}, false, "'stray' is not a valid flag"},
		{[]string{"--watch-max-wait=-1s"}, false, "--watch-max-wait must be >0 (set to -1s)"},
		{[]string{"--watch-history=0"}, false, "--watch-history must be >0"},
		{[]string{"--heartbeat-interval=0"}, false, "--heartbeat-interval must be >0 (set to 0ms)"},
		{[]string{"--election-timeout", "100"}, false, "--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]"},
		{[]string{"--election-timeout", "60000"}, false, "--election-timeout[60000ms] is too long, and should be set less than 50000ms"},
		{[]string{"--auto-compaction-mode=foo"}, false, `unknown auto-compaction-mode "foo"`},
		{[]string{"--advertise-client-urls=http://:2379"}, false, `--advertise-client-urls "http://:2379" must be "host:port" (unexpected empty host (http://:2379))`},
		{[]string{"--listen-client-urls=http://127.0.0.1:2379"}, false, "--advertise-client-urls is required when --listen-client-urls is set explicitly"},
		{[]string{"--enable-v2=false"}, false, "--enable-v2=false: this server serves only the v2 API, so it cannot run with it disabled"},
		{[]string{"--v2-deprecation=gone"}, false, "--v2-deprecation=gone: this server keeps and serves the v2 store; only 'not-yet' is accepted"},
		{[]string{"--logger=capnslog"}, false, "--logger=capnslog is removed in v3.5"},
		{[]string{"--logger=zerolog"}, false, `unknown logger option "zerolog"`},
		{[]string{"--log-outputs=default,stderr"}, false, `multi logoutput for "default" is not supported yet`},
		{[]string{"--log-outputs=/nonexistent/dir/file"}, false, `couldn't open sink "/nonexistent/dir/file": open /nonexistent/dir/file: no such file or directory`},
		{[]string{"--log-level", "loud"}, false, `unrecognized level: "loud"`},
		{[]string{"--log-format", "xml"}, false, "--log-format must be json or console"},
		{[]string{"--cert-file=/x.pem"}, false, "--cert-file=/x.pem is not supported by this server"},
		{[]string{"--discovery=https://discovery.etcd.io/x"}, false, "--discovery=https://discovery.etcd.io/x is not supported by this server"},
		{[]string{"--proxy=on"}, false, "--proxy=on is not supported by this server"},
	} {
		_, err := parseFlags(c.args, nil)
		var ue usageError
		if err == nil || errors.As(err, &ue) != c.usage || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: got %v (usage error %v), want %q (usage error %v)", c.args, err, errors.As(err, &ue), c.want, c.usage)
		}
	}
}

// --strict-reconfig-check is on unless turned off, --force-new-cluster off
// unless asked for, as in etcd 3.5; both reach the member's config.
func TestReconfigAndForceFlags(t *testing.T) {
	cfg := parse(t, []string{"--strict-reconfig-check=false", "--force-new-cluster"}).cfg
	if cfg.StrictReconfigCheck || !cfg.ForceNewCluster {
		t.Fatalf("set: strict %v force %v", cfg.StrictReconfigCheck, cfg.ForceNewCluster)
	}
	cfg = parse(t, nil, "ETCD_STRICT_RECONFIG_CHECK=false", "ETCD_FORCE_NEW_CLUSTER=true").cfg
	if cfg.StrictReconfigCheck || !cfg.ForceNewCluster {
		t.Fatalf("from the environment: strict %v force %v", cfg.StrictReconfigCheck, cfg.ForceNewCluster)
	}
}

// The flags this server acts on reach the member; the ones with no meaning
// for the v2 API are named, once, in one note.
func TestServedAndIgnoredFlags(t *testing.T) {
	inv := parse(t, []string{"--enable-v2=true", "--cors", "http://b.org:99,http://a.com:8080",
		"--listen-metrics-urls", "http://127.0.0.1:9000", "--quota-backend-bytes", "8589934592",
		"--auto-compaction-retention", "1", "--auto-compaction-mode", "revision", "--max-txn-ops", "512",
		"--max-request-bytes", "33554432", "--v", "--listen-client-http-urls", "http://127.0.0.1:9001",
		"--watch-history", "50", "--watch-max-wait", "1m", "--host-whitelist", "b.com,a.com"}, "ETCD_PRE_VOTE=false")
	cfg := inv.cfg
	if !reflect.DeepEqual(cfg.CORS, []string{"http://a.com:8080", "http://b.org:99"}) ||
		!reflect.DeepEqual(cfg.ListenMetricsURLs, []string{"http://127.0.0.1:9000"}) ||
		!reflect.DeepEqual(cfg.ListenClientURLs, []string{"http://127.0.0.1:9001"}) ||
		!reflect.DeepEqual(cfg.HostWhitelist, []string{"a.com", "b.com"}) ||
		cfg.WatchHistory != 50 || cfg.WatchMaxWait != time.Minute {
		t.Fatalf("cfg %+v", cfg)
	}
	var ign [][]string
	for _, n := range inv.notes {
		if n.msg == "flags with no meaning for the v2 API are ignored" {
			ign = append(ign, n.strs["flags"])
		}
	}
	want := []string{"auto-compaction-mode", "auto-compaction-retention", "max-request-bytes", "max-txn-ops", "pre-vote", "quota-backend-bytes", "v"}
	if len(ign) != 1 || !reflect.DeepEqual(ign[0], want) {
		t.Fatalf("ignored %q, want one note with %q", ign, want)
	}
	if inv := parse(t, []string{"--enable-v2"}); len(inv.notes) != 0 {
		t.Fatalf("notes for served flags only: %+v", inv.notes)
	}
}

// A YAML config file with etcd's keys starts the member; the command line
// and ETCD_* are then ignored, as etcd 3.5 ignores them, and the file may
// also come from ETCD_CONFIG_FILE.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "etcd.yml")
	writeFile(t, path, `name: infra1
data-dir: /var/lib/etcd
listen-client-urls: http://127.0.0.1:2479
advertise-client-urls: http://127.0.0.1:2479
listen-peer-urls: http://127.0.0.1:2480
initial-advertise-peer-urls: http://127.0.0.1:2480
initial-cluster: infra1=http://127.0.0.1:2480,infra2=http://127.0.0.1:2490
initial-cluster-state: existing
initial-cluster-token: tok
heartbeat-interval: 50
election-timeout: 500
snapshot-count: 5000
enable-v2: true
strict-reconfig-check: false
cors: "http://a.com:1"
log-outputs: [stderr]
log-level: warn
quota-backend-bytes: 0
auto-compaction-retention: "1"
client-transport-security:
  cert-file: ""
unknown-key: 1
`)
	for _, inv := range []*invocation{
		parse(t, []string{"--config-file", path, "--name", "ignored"}, "ETCD_SNAPSHOT_COUNT=7", "ETCD_FOO=1"),
		parse(t, nil, "ETCD_CONFIG_FILE="+path),
	} {
		cfg := inv.cfg
		if cfg.Name != "infra1" || cfg.DataDir != "/var/lib/etcd" || cfg.InitialClusterState != "existing" ||
			cfg.InitialClusterToken != "tok" || cfg.HeartbeatInterval != 50*time.Millisecond ||
			cfg.ElectionTimeout != 500*time.Millisecond || cfg.SnapshotCount != 5000 || cfg.StrictReconfigCheck ||
			!reflect.DeepEqual(cfg.ListenClientURLs, []string{"http://127.0.0.1:2479"}) ||
			!reflect.DeepEqual(cfg.CORS, []string{"http://a.com:1"}) ||
			cfg.InitialCluster != "infra1=http://127.0.0.1:2480,infra2=http://127.0.0.1:2490" {
			t.Fatalf("cfg %+v", cfg)
		}
		var msgs []string
		for _, n := range inv.notes {
			msgs = append(msgs, n.msg)
		}
		want := []string{"loaded server configuration, other configuration command line flags and environment variables will be ignored if provided",
			"flags with no meaning for the v2 API are ignored"}
		if !reflect.DeepEqual(msgs, want) {
			t.Fatalf("notes %q", msgs)
		}
	}
	for body, want := range map[string]string{
		"heartbeat-interval: abc\n":                   `invalid value "abc" for heartbeat-interval`,
		"name: x\n: : :\n  - [\n":                     "error converting YAML to JSON: yaml: line 1: did not find expected key",
		"listen-client-urls: notaurl\n":               "unexpected error setting up listen-client-urls: URL scheme must be http, https, unix, or unixs: notaurl",
		"enable-v2: false\n":                          "--enable-v2=false: this server serves only the v2 API",
		"peer-transport-security:\n  cert-file: /x\n": "peer-transport-security: cert-file is not supported by this server",
	} {
		p := filepath.Join(dir, "bad.yml")
		writeFile(t, p, body)
		if _, err := parseFlags([]string{"--config-file", p}, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	if _, err := parseFlags([]string{"--config-file", filepath.Join(dir, "missing.yml")}, nil); err == nil ||
		!strings.HasSuffix(err.Error(), "missing.yml: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// --help lists every flag as etcd's does, grouped, with its default and its
// environment variable.
func TestHelp(t *testing.T) {
	inv := parse(t, []string{"--help"})
	if !inv.help {
		t.Fatal("--help not seen")
	}
	var b strings.Builder
	printHelp(&b)
	out := b.String()
	for _, want := range []string{
		"Usage:\n\n  etcdv2 [flags]\n",
		"\nMember:\n  --name 'default'  [$ETCD_NAME]\n    Human-readable name for this member.\n",
		"  --data-dir '${name}.etcd'  [$ETCD_DATA_DIR]\n",
		"  --listen-client-urls 'http://localhost:2379'  [$ETCD_LISTEN_CLIENT_URLS]\n",
		"\nClustering:\n", "\nSecurity:\n", "\nLogging:\n", "\nUnsafe feature:\n",
		"  --quota-backend-bytes '0'  [$ETCD_QUOTA_BACKEND_BYTES]\n    Maximum size (in bytes) of the v3 backend database (the v2 store is not counted). Ignored: no meaning for the v2 API.\n",
		"  --cors '*'  [$ETCD_CORS]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out, "--config-file ''") || strings.Contains(out, "--cluster-active-size") {
		t.Error("help lists flags etcd's help leaves out")
	}
}

// --version prints etcd's four lines, with the release /version reports.
func TestVersion(t *testing.T) {
	if inv := parse(t, []string{"--version", "--name=x"}); !inv.version {
		t.Fatal("--version not seen")
	}
	var b strings.Builder
	printVersion(&b)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 || lines[0] != "etcd Version: 3.5.35" || !strings.HasPrefix(lines[1], "Git SHA: ") ||
		!strings.HasPrefix(lines[2], "Go Version: go") || !strings.HasPrefix(lines[3], "Go OS/Arch: ") {
		t.Fatalf("version:\n%s", b.String())
	}
}

// --log-outputs names files, appended to (as zap's file sinks), or stderr and
// stdout; each line goes to every output.
func TestLogOutputsFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	writeFile(t, a, "earlier\n")
	cfg := parse(t, []string{"--log-outputs", b + "," + a, "--log-level", "warn"}).cfg
	cfg.Log.Info().Msg("not at warn")
	cfg.Log.Warn().Str("id", "8e9e05c52164694d").Msg("to both")
	for _, p := range []string{a, b} {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
		last := lines[len(lines)-1]
		if strings.Contains(string(got), "not at warn") || !strings.HasPrefix(last, `{"level":"warn","id":"8e9e05c52164694d",`) ||
			!strings.HasSuffix(last, `"message":"to both"}`) || (p == a && lines[0] != "earlier") {
			t.Fatalf("%s:\n%s", p, got)
		}
	}
}
