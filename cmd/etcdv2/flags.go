package main

import (
	"errors"
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors/system"
)

// options are the values of the flags this server acts on.
type options struct {
	configFile, name, dataDir                                          string
	listenPeer, listenClient, listenClientHTTP, listenMetrics, advPeer *urlsValue
	advClient, cors                                                    *urlsValue
	snapshotCount                                                      uint64
	heartbeat, election, watchHistory                                  uint
	watchMaxWait                                                       time.Duration
	initialCluster, clusterToken, discovery, discoverySRV              string
	clusterState, proxy                                                *choiceValue
	v2Deprecation                                                      *choicesValue
	strictReconfig, enableV2, pprof, forceNewCluster, version          bool
	compactionRetention, compactionMode, logger, logLevel, logFormat   string
	logOutputs, hostWhitelist                                          *stringsValue
}

func newOptions() *options {
	return &options{
		listenPeer:       newURLs("http://localhost:2380", ""),
		listenClient:     newURLs("http://localhost:2379", ""),
		listenClientHTTP: newURLs("", ""),
		listenMetrics:    newURLs("", ""),
		advPeer:          newURLs("http://localhost:2380", ""),
		advClient:        newURLs("http://localhost:2379", ""),
		cors:             newURLs("*", "*"),
		clusterState:     newChoice("new", "new", "existing"),
		proxy:            newChoice("off", "off", "readonly", "on"),
		v2Deprecation: &choicesValue{*newChoice("not-yet",
			"not-yet", "write-only", "write-only-skip-check", "write-only-drop-data", "gone")},
		logOutputs:    newStrings("default"),
		hostWhitelist: newStrings("*"),
	}
}

// invocation is what the command line asks for: a member to start with cfg,
// or only the version or the help. notes are the lines parsing has to say,
// logged once the logger the flags choose exists.
type invocation struct {
	cfg           system.Config
	version, help bool
	notes         []note
}

// usageError is a flag the flag package refuses (exit code 2, as in etcd).
type usageError struct{ error }

// parseFlags reads etcd 3.5's command line as etcdmain does: the flags, then
// either the config file (--config-file or ETCD_CONFIG_FILE), in which case
// the other flags and the environment are ignored, or the ETCD_* variables
// for the flags the command line leaves out (one given both ways is
// refused), and then checks the values.
func parseFlags(args, environ []string) (*invocation, error) {
	inv := &invocation{}
	o := newOptions()
	fs := newFlagSet(o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			inv.help = true
			return inv, nil
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("'%s' is not a valid flag", fs.Arg(0))
	}
	if o.version {
		inv.version = true
		return inv, nil
	}
	env := envMap(environ)
	given := map[string]bool{}
	if o.configFile == "" {
		o.configFile = env["ETCD_CONFIG_FILE"]
	}
	if path := o.configFile; path != "" {
		o = newOptions()
		fs = newFlagSet(o)
		if err := loadConfigFile(path, fs, given); err != nil {
			return nil, err
		}
		o.configFile = path
		inv.notes = append(inv.notes, infoNote("loaded server configuration, other configuration command line flags and environment variables will be ignored if provided", "path", path))
	} else {
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		notes, err := applyEnv(fs, environ, given)
		inv.notes = append(inv.notes, notes...)
		if err != nil {
			return nil, err
		}
		// etcd drops its default advertised client URL once the listen
		// URLs are given: the default would point clients elsewhere.
		if given["listen-client-urls"] && !given["advertise-client-urls"] {
			return nil, errors.New("--advertise-client-urls is required when --listen-client-urls is set explicitly")
		}
	}
	if err := checkOptions(o, fs, given); err != nil {
		return nil, err
	}
	var ign []string
	for name := range given {
		if d := fs.docs[name]; d != nil && d.use == ignored {
			ign = append(ign, name)
		}
	}
	if len(ign) > 0 {
		sort.Strings(ign)
		inv.notes = append(inv.notes, note{level: zerolog.InfoLevel, msg: "flags with no meaning for the v2 API are ignored", strs: map[string][]string{"flags": ign}})
	}
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	inv.cfg = cfg
	return inv, nil
}

// maxElectionMs is etcd's bound on --election-timeout.
const maxElectionMs = 50000

// checkOptions is embed.Config.Validate's part that is about values, in its
// order, and refuses what this server cannot do as asked.
func checkOptions(o *options, fs *flagSet, given map[string]bool) error {
	for _, u := range []struct {
		flag string
		v    *urlsValue
	}{{"initial-advertise-peer-urls", o.advPeer}, {"advertise-client-urls", o.advClient}} {
		for _, raw := range u.v.urls {
			if err := checkHostURL(raw); err != nil {
				return fmt.Errorf(`--%s %q must be "host:port" (%v)`, u.flag, u.v.String(), err)
			}
		}
	}
	if o.heartbeat == 0 {
		return fmt.Errorf("--heartbeat-interval must be >0 (set to %dms)", o.heartbeat)
	}
	if o.election == 0 {
		return fmt.Errorf("--election-timeout must be >0 (set to %dms)", o.election)
	}
	if 5*o.heartbeat > o.election {
		return fmt.Errorf("--election-timeout[%vms] should be at least as 5 times as --heartbeat-interval[%vms]", o.election, o.heartbeat)
	}
	if o.election > maxElectionMs {
		return fmt.Errorf("--election-timeout[%vms] is too long, and should be set less than %vms", o.election, maxElectionMs)
	}
	switch o.compactionMode {
	case "", "periodic", "revision":
	default:
		return fmt.Errorf("unknown auto-compaction-mode %q", o.compactionMode)
	}
	if given["enable-v2"] && !o.enableV2 {
		return errors.New("--enable-v2=false: this server serves only the v2 API, so it cannot run with it disabled")
	}
	if o.v2Deprecation.v != "not-yet" {
		return fmt.Errorf("--v2-deprecation=%s: this server keeps and serves the v2 store; only 'not-yet' is accepted", o.v2Deprecation.v)
	}
	for _, g := range fs.groups {
		for _, d := range g.flags {
			if d.use == unsupported && given[d.name] {
				f := fs.Lookup(d.name)
				if f.Value.String() != f.DefValue {
					return fmt.Errorf("--%s=%s is not supported by this server (%s)", d.name, f.Value.String(), d.usage)
				}
			}
		}
	}
	if o.watchHistory == 0 {
		return errors.New("--watch-history must be >0")
	}
	if o.watchMaxWait <= 0 {
		return fmt.Errorf("--watch-max-wait must be >0 (set to %v)", o.watchMaxWait)
	}
	return nil
}

// config turns the options into the member's settings; the logger is built
// here, so a log file that cannot be opened stops the start.
func (o *options) config() (system.Config, error) {
	log, err := newLogger(o.logger, o.logOutputs.vals, o.logLevel, o.logFormat)
	if err != nil {
		return system.Config{}, err
	}
	dataDir := o.dataDir
	if dataDir == "" {
		dataDir = o.name + ".etcd"
	}
	client := o.listenClient.urls
	if len(o.listenClientHTTP.urls) > 0 {
		client = o.listenClientHTTP.urls
	}
	var cors []string
	if o.cors.String() != "*" {
		cors = o.cors.urls
	}
	return system.Config{
		Name:                     o.name,
		DataDir:                  dataDir,
		ListenClientURLs:         client,
		AdvertiseClientURLs:      o.advClient.urls,
		ListenPeerURLs:           o.listenPeer.urls,
		InitialAdvertisePeerURLs: o.advPeer.urls,
		ListenMetricsURLs:        o.listenMetrics.urls,
		InitialCluster:           o.initialCluster,
		InitialClusterState:      o.clusterState.v,
		InitialClusterToken:      o.clusterToken,
		ForceNewCluster:          o.forceNewCluster,
		StrictReconfigCheck:      o.strictReconfig,
		SnapshotCount:            o.snapshotCount,
		HeartbeatInterval:        time.Duration(o.heartbeat) * time.Millisecond,
		ElectionTimeout:          time.Duration(o.election) * time.Millisecond,
		WatchHistory:             int(o.watchHistory),
		WatchMaxWait:             o.watchMaxWait,
		EnablePprof:              o.pprof,
		CORS:                     cors,
		HostWhitelist:            o.hostWhitelist.vals,
		Log:                      log,
	}, nil
}
