package main

import (
	"flag"
	"io"
	"time"
)

// flagUse is what this server does with one of etcd's flags.
type flagUse uint8

const (
	served      flagUse = iota // it does what etcd does with it
	ignored                    // accepted; it has no meaning for the v2 API (said once at start)
	unsupported                // accepted at its default; any other value is refused
)

type flagDoc struct {
	name, shown, usage string
	use                flagUse
}

type flagGroup struct {
	title string
	flags []*flagDoc
}

// flagSet is a flag.FlagSet that also knows, for --help and for the start-up
// line naming ignored flags, the group and the use of each flag.
type flagSet struct {
	*flag.FlagSet
	groups []*flagGroup
	docs   map[string]*flagDoc
}

func (s *flagSet) group(title string) { s.groups = append(s.groups, &flagGroup{title: title}) }

// add registers v, already holding its default, under name; shown is the
// default as --help prints it ("" prints v's own).
func (s *flagSet) add(use flagUse, name, shown, usage string, v flag.Value) {
	s.Var(v, name, usage)
	if shown == "" {
		shown = "'" + v.String() + "'"
	}
	d := &flagDoc{name: name, shown: shown, usage: usage, use: use}
	s.docs[name] = d
	g := s.groups[len(s.groups)-1]
	g.flags = append(g.flags, d)
}

// The typed flags, as the flag package parses them (its error texts are the
// ones etcd prints).
func (s *flagSet) str(use flagUse, p *string, name, def, usage string) {
	s.StringVar(p, name, def, usage)
	s.doc(use, name, usage)
}
func (s *flagSet) boolean(use flagUse, p *bool, name string, def bool, usage string) {
	s.BoolVar(p, name, def, usage)
	s.doc(use, name, usage)
}
func (s *flagSet) uintf(use flagUse, p *uint, name string, def uint, usage string) {
	s.UintVar(p, name, def, usage)
	s.doc(use, name, usage)
}
func (s *flagSet) u64(use flagUse, p *uint64, name string, def uint64, usage string) {
	s.Uint64Var(p, name, def, usage)
	s.doc(use, name, usage)
}
func (s *flagSet) i64(use flagUse, p *int64, name string, def int64, usage string) {
	s.Int64Var(p, name, def, usage)
	s.doc(use, name, usage)
}
func (s *flagSet) intf(use flagUse, p *int, name string, def int, usage string) {
	s.IntVar(p, name, def, usage)
	s.doc(use, name, usage)
}
func (s *flagSet) dur(use flagUse, p *time.Duration, name string, def time.Duration, usage string) {
	s.DurationVar(p, name, def, usage)
	s.doc(use, name, usage)
}

func (s *flagSet) doc(use flagUse, name, usage string) {
	f := s.Lookup(name)
	d := &flagDoc{name: name, shown: "'" + f.DefValue + "'", usage: usage, use: use}
	s.docs[name] = d
	g := s.groups[len(s.groups)-1]
	g.flags = append(g.flags, d)
}

// newFlagSet registers every flag of etcd 3.5 (and this server's own) into
// o, grouped as etcd's --help groups them.
func newFlagSet(o *options) *flagSet {
	s := &flagSet{FlagSet: flag.NewFlagSet("etcd", flag.ContinueOnError), docs: map[string]*flagDoc{}}
	s.SetOutput(io.Discard)
	// Ignored flags are parsed into throwaway variables, so a value of the
	// wrong type is refused as etcd refuses it.
	istr := func(name, def, usage string) { s.str(ignored, new(string), name, def, usage) }
	ibool := func(name string, def bool, usage string) { s.boolean(ignored, new(bool), name, def, usage) }
	iuint := func(name string, def uint, usage string) { s.uintf(ignored, new(uint), name, def, usage) }
	idur := func(name string, def time.Duration, usage string) {
		s.dur(ignored, new(time.Duration), name, def, usage)
	}

	s.group("Member")
	s.str(served, &o.name, "name", "default", "Human-readable name for this member.")
	s.str(served, &o.dataDir, "data-dir", "", "Path to the data directory.")
	s.docs["data-dir"].shown = "'${name}.etcd'"
	istr("wal-dir", "", "Path to a dedicated WAL directory (this server keeps its WAL in the data dir).")
	s.u64(served, &o.snapshotCount, "snapshot-count", 100000, "Number of committed entries that triggers a snapshot to disk.")
	s.uintf(served, &o.heartbeat, "heartbeat-interval", 100, "Time (in milliseconds) of a heartbeat interval.")
	s.uintf(served, &o.election, "election-timeout", 1000, "Time (in milliseconds) for an election to time out.")
	ibool("initial-election-tick-advance", true, "Whether to fast-forward the initial election ticks on boot.")
	s.add(served, "listen-peer-urls", "", "List of URLs to listen on for peer traffic.", o.listenPeer)
	s.add(served, "listen-client-urls", "", "List of URLs to listen on for client traffic (the v2 API), unless --listen-client-http-urls is given.", o.listenClient)
	s.add(served, "listen-client-http-urls", "", "List of URLs to listen on for HTTP client traffic; when given, they serve the v2 API instead of --listen-client-urls.", o.listenClientHTTP)
	iuint("max-snapshots", 5, "Maximum number of snapshot files to retain (0 is unlimited).")
	iuint("max-wals", 5, "Maximum number of WAL files to retain (0 is unlimited).")
	s.i64(ignored, new(int64), "quota-backend-bytes", 0, "Maximum size (in bytes) of the v3 backend database (the v2 store is not counted).")
	istr("backend-bbolt-freelist-type", "map", "Freelist type of the v3 backend's bbolt (array or map).")
	idur("backend-batch-interval", 0, "Longest time before the v3 backend commits its transaction.")
	s.docs["backend-batch-interval"].shown = "''"
	s.intf(ignored, new(int), "backend-batch-limit", 0, "Most operations before the v3 backend commits its transaction.")
	iuint("max-txn-ops", 128, "Maximum number of operations permitted in a v3 transaction.")
	iuint("max-request-bytes", 1572864, "Maximum v3 (gRPC) request size in bytes; etcd does not apply it to the v2 API, whose forms are limited to 10 MiB.")
	iuint("max-concurrent-streams", 1<<32-1, "Maximum concurrent gRPC streams per client.")
	s.docs["max-concurrent-streams"].shown = "'math.MaxUint32'"
	ibool("enable-grpc-gateway", true, "Enable the v3 gRPC gateway.")
	idur("grpc-keepalive-min-time", 5*time.Second, "Minimum interval a gRPC client should wait before pinging the server.")
	idur("grpc-keepalive-interval", 2*time.Hour, "Frequency of server-to-client gRPC pings (0 to disable).")
	idur("grpc-keepalive-timeout", 20*time.Second, "Additional wait before closing a non-responsive gRPC connection (0 to disable).")
	ibool("socket-reuse-port", false, "Set SO_REUSEPORT on listeners.")
	ibool("socket-reuse-address", false, "Set SO_REUSEADDR on listeners.")
	idur("raft-read-timeout", 5*time.Second, "Read timeout of each rafthttp connection (this server's peer streams keep their own).")
	idur("raft-write-timeout", 5*time.Second, "Write timeout of each rafthttp connection (this server's peer streams keep their own).")
	s.uintf(served, &o.watchHistory, "watch-history", 1000, "Number of events kept for watchers with a waitIndex (this server's own).")
	s.dur(served, &o.watchMaxWait, "watch-max-wait", 5*time.Minute, "Longest a long-poll watch is held before it ends with an empty 200 (this server's own).")

	s.group("Clustering")
	s.add(served, "initial-advertise-peer-urls", "", "List of this member's peer URLs to advertise to the rest of the cluster.", o.advPeer)
	s.str(served, &o.initialCluster, "initial-cluster", "", "Initial cluster configuration for bootstrapping.")
	s.docs["initial-cluster"].shown = "'default=http://localhost:2380'"
	s.add(served, "initial-cluster-state", "", "Initial cluster state ('new' when bootstrapping a new cluster or 'existing' when adding a member to a running one); ignored once the data dir holds a member.", o.clusterState)
	s.str(served, &o.clusterToken, "initial-cluster-token", "etcd-cluster", "Initial cluster token for the etcd cluster during bootstrap.")
	s.add(served, "advertise-client-urls", "", "List of this member's client URLs to advertise to the public.", o.advClient)
	s.str(unsupported, &o.discovery, "discovery", "", "Discovery URL used to bootstrap the cluster (not supported: use --initial-cluster).")
	s.add(ignored, "discovery-fallback", "", "Expected behavior ('exit' or 'proxy') when the discovery service fails.", newChoice("proxy", "proxy", "exit"))
	istr("discovery-proxy", "", "HTTP proxy to use for traffic to the discovery service.")
	s.str(unsupported, &o.discoverySRV, "discovery-srv", "", "DNS SRV domain used to bootstrap the cluster (not supported: use --initial-cluster).")
	istr("discovery-srv-name", "", "Suffix to the DNS SRV name queried when bootstrapping.")
	s.boolean(served, &o.strictReconfig, "strict-reconfig-check", true, "Reject reconfiguration requests that would cause quorum loss.")
	ibool("pre-vote", true, "Enable an additional raft election phase.")
	s.str(ignored, &o.compactionRetention, "auto-compaction-retention", "0", "Auto compaction retention of the v3 key-value store (0 disables it).")
	s.str(ignored, &o.compactionMode, "auto-compaction-mode", "periodic", "How to read auto-compaction-retention: periodic or revision.")
	s.boolean(served, &o.enableV2, "enable-v2", false, "Accept etcd v2 client requests: this server serves only those, so it must not be false.")
	s.docs["enable-v2"].shown = "'true'"
	istr("experimental-enable-v2v3", "", "Serve v2 requests through the v3 backend under a prefix.")
	s.add(served, "v2-deprecation", "", "Phase of the v2store deprecation: only 'not-yet' keeps a v2 store, the one this server serves.", o.v2Deprecation)

	s.group("Security")
	for _, f := range []struct{ name, usage string }{
		{"cert-file", "Path to the client server TLS cert file."},
		{"key-file", "Path to the client server TLS key file."},
	} {
		s.str(unsupported, new(string), f.name, "", f.usage+" (TLS is not served.)")
	}
	s.boolean(unsupported, new(bool), "client-cert-auth", false, "Enable client cert authentication. (TLS is not served.)")
	istr("client-cert-file", "", "Path to an explicit peer client TLS cert file.")
	istr("client-key-file", "", "Path to an explicit peer client TLS key file.")
	s.str(unsupported, new(string), "client-crl-file", "", "Path to the client certificate revocation list file. (TLS is not served.)")
	s.add(ignored, "client-cert-allowed-hostname", "''", "Comma-separated list of SAN hostnames for client cert authentication.", newStrings(""))
	s.str(unsupported, new(string), "trusted-ca-file", "", "Path to the client server TLS trusted CA cert file. (TLS is not served.)")
	s.boolean(unsupported, new(bool), "auto-tls", false, "Client TLS using generated certificates. (TLS is not served.)")
	s.str(unsupported, new(string), "peer-cert-file", "", "Path to the peer server TLS cert file. (TLS is not served.)")
	s.str(unsupported, new(string), "peer-key-file", "", "Path to the peer server TLS key file. (TLS is not served.)")
	s.boolean(unsupported, new(bool), "peer-client-cert-auth", false, "Enable peer client cert authentication. (TLS is not served.)")
	s.str(unsupported, new(string), "peer-trusted-ca-file", "", "Path to the peer server TLS trusted CA file. (TLS is not served.)")
	s.add(ignored, "peer-cert-allowed-cn", "''", "Comma-separated list of allowed CNs for inter-peer TLS authentication.", newStrings(""))
	s.add(ignored, "peer-cert-allowed-hostname", "''", "Comma-separated list of allowed SAN hostnames for inter-peer TLS authentication.", newStrings(""))
	s.boolean(unsupported, new(bool), "peer-auto-tls", false, "Peer TLS using self-generated certificates. (TLS is not served.)")
	istr("peer-client-cert-file", "", "Path to an explicit peer client TLS cert file.")
	istr("peer-client-key-file", "", "Path to an explicit peer client TLS key file.")
	iuint("self-signed-cert-validity", 1, "Validity, in years, of the certificates etcd generates for auto TLS.")
	s.str(unsupported, new(string), "peer-crl-file", "", "Path to the peer certificate revocation list file. (TLS is not served.)")
	s.add(ignored, "cipher-suites", "''", "Comma-separated list of supported TLS cipher suites.", newStrings(""))
	s.add(served, "cors", "", "Comma-separated list of origins for CORS, or cross-origin resource sharing (empty or * means allow all).", o.cors)
	s.add(served, "host-whitelist", "", "Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all).", o.hostWhitelist)
	istr("tls-min-version", "TLS1.2", "Minimum TLS version supported by etcd.")
	istr("tls-max-version", "", "Maximum TLS version supported by etcd.")
	ibool("experimental-peer-skip-client-san-verification", false, "Skip verification of the SAN field in client certificates of peers.")

	s.group("Auth")
	istr("auth-token", "simple", "Type of the v3 authentication token and its options ('simple' or 'jwt').")
	iuint("bcrypt-cost", 10, "Cost of the bcrypt hashing of auth passwords (4 to 31).")
	iuint("auth-token-ttl", 300, "Time (in seconds) of the auth-token-ttl.")

	s.group("Profiling and Monitoring")
	s.boolean(served, &o.pprof, "enable-pprof", false, `Enable runtime profiling data via HTTP server, at client URL + "/debug/pprof/".`)
	istr("metrics", "basic", "Level of detail of the exported metrics ('basic' or 'extensive').")
	s.add(served, "listen-metrics-urls", "", "List of URLs to listen on for the /metrics and /health endpoints.", o.listenMetrics)

	s.group("Logging")
	s.str(served, &o.logger, "logger", "zap", "Currently only supports 'zap' for structured logging (the lines are JSON, as zap's).")
	s.add(served, "log-outputs", "", "Specify 'stdout' or 'stderr', or a comma-separated list of output targets (files); 'default' is stderr.", o.logOutputs)
	s.str(served, &o.logLevel, "log-level", "info", "Configures log level. Only supports debug, info, warn, error, panic, or fatal.")
	s.str(served, &o.logFormat, "log-format", "json", "Log format: json or console (this server's own).")
	ibool("enable-log-rotation", false, "Enable log rotation of a single log-outputs file target.")
	istr("log-rotation-config-json", `{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}`, "Log rotation settings, as JSON.")

	s.group("Experimental distributed tracing")
	ibool("experimental-enable-distributed-tracing", false, "Enable experimental distributed tracing.")
	istr("experimental-distributed-tracing-address", "localhost:4317", "Distributed tracing collector address.")
	istr("experimental-distributed-tracing-service-name", "etcd", "Distributed tracing service name.")
	istr("experimental-distributed-tracing-instance-id", "", "Distributed tracing instance ID.")
	s.intf(ignored, new(int), "experimental-distributed-tracing-sampling-rate", 0, "Number of samples to collect per million spans.")

	s.group("v2 Proxy (Deprecated and to be decommissioned in v3.6)")
	s.add(unsupported, "proxy", "", "Proxy mode setting ('off', 'readonly' or 'on'); only 'off' is served.", o.proxy)
	iuint("proxy-failure-wait", 5000, "Time (in milliseconds) an endpoint will be held in a failed state.")
	iuint("proxy-refresh-interval", 30000, "Time (in milliseconds) of the endpoints refresh interval.")
	iuint("proxy-dial-timeout", 1000, "Time (in milliseconds) for a dial to timeout.")
	iuint("proxy-write-timeout", 5000, "Time (in milliseconds) for a write to timeout.")
	iuint("proxy-read-timeout", 0, "Time (in milliseconds) for a read to timeout.")

	s.group("Experimental feature")
	ibool("experimental-initial-corrupt-check", false, "Check data corruption before serving any client/peer traffic.")
	idur("experimental-corrupt-check-time", 0, "Duration of time between cluster corruption check passes.")
	ibool("experimental-compact-hash-check-enabled", false, "Enable leader to periodically check followers compaction hashes.")
	idur("experimental-compact-hash-check-time", time.Minute, "Duration of time between leader checks followers compaction hashes.")
	ibool("experimental-enable-lease-checkpoint", false, "Enable the leader to send regular lease checkpoints.")
	ibool("experimental-enable-lease-checkpoint-persist", false, "Persist the lease remainingTTL.")
	s.intf(ignored, new(int), "experimental-compaction-batch-limit", 1000, "Maximum revisions deleted in each compaction batch.")
	idur("experimental-compaction-sleep-interval", 10*time.Millisecond, "Sleep interval between compaction batches.")
	idur("experimental-watch-progress-notify-interval", 10*time.Minute, "Duration of periodic v3 watch progress notifications.")
	idur("experimental-downgrade-check-time", 5*time.Second, "Duration of time between two downgrade status checks.")
	ibool("experimental-memory-mlock", false, "Keep etcd's pages (bbolt's in particular) in RAM.")
	idur("experimental-warning-apply-duration", 100*time.Millisecond, "Warning is generated if requests take more than this duration.")
	ibool("experimental-txn-mode-write-with-shared-buffer", true, "Let write transactions use a shared buffer in their read-only checks.")
	iuint("experimental-bootstrap-defrag-threshold-megabytes", 0, "Defragment at bootstrap when it frees at least this much disk space.")
	ibool("experimental-stop-grpc-service-on-defrag", false, "Stop the gRPC service during defragmentation.")
	s.u64(ignored, new(uint64), "experimental-snapshot-catchup-entries", 5000, "Number of entries kept for a slow follower after a compaction.")

	s.group("Unsafe feature")
	s.boolean(served, &o.forceNewCluster, "force-new-cluster", false, "Force to create a new one-member cluster.")
	ibool("unsafe-no-fsync", false, "Disables fsync, unsafe, will cause data loss (this server always syncs).")

	// Not in etcd's help, parsed all the same.
	s.group("")
	s.str(served, &o.configFile, "config-file", "", "Path to the server configuration file.")
	s.boolean(served, &o.version, "version", false, "Print the version and exit.")
	for _, name := range []string{"cluster-active-size", "cluster-remove-delay", "cluster-sync-interval", "config",
		"force", "max-result-buffer", "max-retry-attempts", "peer-heartbeat-interval", "peer-election-timeout",
		"retry-interval", "snapshot", "v", "vv"} {
		s.add(ignored, name, "''", "An etcd 2 flag, accepted and ignored.", anyValue{})
	}
	return s
}
