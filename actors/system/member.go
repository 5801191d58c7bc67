package system

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront"
	"github.com/etcdv2/server/raftactor"
	"github.com/etcdv2/server/treeactor"
	"github.com/etcdv2/server/ttlwheel"
	"github.com/etcdv2/server/watchhub"
)

// Member is one running etcd v2 member: its actors and its HTTP front end.
type Member struct {
	log      zerolog.Logger
	sys      *actor.ActorSystem
	pids     actors.PIDs
	front    *httpfront.Server
	lns      []net.Listener
	mlns     []net.Listener // --listen-metrics-urls
	reg      *prometheus.Registry
	peers    *peerSide // nil for a member alone
	failed   chan error
	stopOnce sync.Once
	idle     chan struct{} // closed on Stop: ends the heap trimmer
	lock     *dirLock      // the data dir's, released once the actors are gone
}

// Start binds the client listeners, spawns the actors in dependency order
// (those that receive first), waits until the tree has caught up with
// everything the member had acknowledged before it stopped, and only then
// accepts on the listeners. It returns once the member serves requests.
//
// The settings are checked first (Validate), then the data dir's lock is
// taken, so that a data dir another member holds is refused at once. Deciding
// who the member is comes next (decideBoot: it only reads the data dir and
// asks the other members), so that inconsistent flags stop it before
// anything is bound or written. Binding comes next so that a busy port is
// found before the data dir is touched; until the member accepts, a client's
// connection waits in the kernel's backlog, so its first answer is already
// from the recovered state.
func Start(cfg Config) (*Member, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A data dir another member holds is refused before anything else
	// reads it; one that does not exist yet is locked once it is made.
	lock, err := lockDataDir(cfg.DataDir, false)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.release()
		}
	}()
	// Who this member is comes next: flags that contradict each other, the
	// data dir or the running cluster stop it before it binds or writes.
	b, err := decideBoot(&cfg)
	if err != nil {
		return nil, err
	}
	self, members, clusterID, known := b.self, b.members, b.clusterID, b.known
	ids := make([]uint64, len(members))
	for i, mb := range members {
		ids[i] = mb.ID
	}
	lns, err := listen(cfg.ListenClientURLs)
	if err != nil {
		return nil, err
	}
	// Every member listens for peers, alone too: a member may be added.
	peerLns, err := listen(cfg.ListenPeerURLs)
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	metricsLns, err := listen(cfg.ListenMetricsURLs)
	if err != nil {
		for _, ln := range append(lns, peerLns...) {
			ln.Close()
		}
		return nil, err
	}
	defer func() {
		if !ok {
			for _, ln := range slices.Concat(lns, peerLns, metricsLns) {
				ln.Close()
			}
		}
	}()
	if lock == nil {
		if lock, err = lockDataDir(cfg.DataDir, true); err != nil {
			return nil, err
		}
	}
	if err := lock.writePid(); err != nil {
		return nil, err
	}

	m := &Member{log: cfg.Log, failed: make(chan error, 1), lns: lns, mlns: metricsLns, idle: make(chan struct{}), lock: lock, reg: newRegistry(self.ID)}
	serving := make(chan struct{})
	protoLog := cfg.Log.With().Str("component", "protoactor").Logger()
	if protoLog.GetLevel() < zerolog.WarnLevel {
		protoLog = protoLog.Level(zerolog.WarnLevel)
	}
	m.sys = actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(zerolog.NewSlogHandler(protoLog))
		}),
		actor.WithDeadLetterThrottleCount(1),
		actor.WithDeadLetterThrottleInterval(time.Minute),
		actor.WithDeadLetterRequestLogging(false),
	)
	m.pids = actors.LocalPIDs(m.sys)
	// Up before raft, which sends as soon as it runs; what peers send
	// before the raft actor exists is lost, and raft sends it again. The
	// raft actor tells it who the peers are.
	m.peers = startPeers(cfg.Log, peerLns, self, clusterID, m.sys.Root, m.pids.Raft, m.reg)
	guard := &stopMember{fail: m.fail}
	spawn := func(name string, props *actor.Props) error {
		_, err := m.sys.Root.SpawnNamed(props.Configure(actor.WithGuardian(guard)), name)
		return err
	}
	tick := cfg.HeartbeatInterval
	// etcd's request timeout.
	requestTimeout := 5*time.Second + 2*cfg.ElectionTimeout
	// The tree keeps as many of its last events in its snapshots as the hub
	// keeps for watchers, to give them back after a restart.
	history := cfg.WatchHistory
	if history <= 0 {
		history = watchhub.DefaultHistorySize
	}
	steps := []struct {
		name  string
		props *actor.Props
	}{
		{actors.NameHub, watchhub.Props(watchhub.Deps{Log: cfg.Log.With().Str("actor", "hub").Logger(), HistorySize: history, Metrics: m.reg})},
		{actors.NameWheel, ttlwheel.Props(ttlwheel.Deps{PIDs: m.pids, Log: cfg.Log.With().Str("actor", "wheel").Logger()})},
		{actors.NameTree, treeactor.Props(treeactor.Deps{PIDs: m.pids, Log: cfg.Log.With().Str("actor", "tree").Logger(), Fail: m.fail, History: history,
			Serving: func() { close(serving) }, Metrics: m.reg})},
		{actors.NameRaft, raftactor.Props(raftactor.Config{
			ID:             self.ID,
			Peers:          ids,
			DataDir:        cfg.DataDir,
			SnapshotCount:  cfg.SnapshotCount,
			TickInterval:   tick,
			ElectionTicks:  int(cfg.ElectionTimeout / tick),
			HeartbeatTicks: 1,
			PIDs:           m.pids,
			Log:            cfg.Log,
			Fail:           m.fail,
			VerifyFile:     cfg.VerifyFile,
			Transport:      m.peers.transport,
			Members:        members,
			ClusterToken:   cfg.InitialClusterToken,
			// As long as the front waits for the answer.
			ProposalTimeout: requestTimeout,

			JoinExisting:        b.join,
			ForceNewCluster:     b.force,
			StrictReconfigCheck: cfg.StrictReconfigCheck,
			Metrics:             m.reg,
		})},
	}
	for _, s := range steps {
		if err := spawn(s.name, s.props); err != nil {
			m.sys.Shutdown()
			m.peers.stop()
			return nil, err
		}
	}

	m.front = httpfront.New(httpfront.Config{
		PIDs:           m.pids,
		Root:           m.sys.Root,
		Log:            cfg.Log.With().Str("component", "http").Logger(),
		Self:           self,
		ClusterID:      clusterID,
		CORS:           cfg.CORS,
		HostWhitelist:  cfg.HostWhitelist,
		RequestTimeout: requestTimeout,
		WatchMaxWait:   cfg.WatchMaxWait,
		EnablePprof:    cfg.EnablePprof,
		Metrics:        m.reg,
	})
	select {
	case <-serving:
	case err := <-m.failed:
		m.Stop()
		return nil, err
	}
	if !known {
		// Written once the log exists, so that an identity always has one.
		if err := saveIdentity(cfg.DataDir, identity{MemberID: self.ID, ClusterID: clusterID}); err != nil {
			m.Stop()
			return nil, err
		}
	}
	retry := max(time.Second, 2*cfg.ElectionTimeout)
	switch {
	case b.join && !known:
		if err := m.catchUp(cfg.Log, retry, 0); err != nil {
			m.Stop()
			return nil, err
		}
	case known && len(members) > 1:
		// The commit index on disk lags what this member had applied (it
		// rides along with the next batch): after a crash its log holds
		// writes it acknowledged, but not that they were committed. Its
		// leader knows; without one for a while it serves what it has.
		if err := m.catchUp(cfg.Log, retry, restartCatchUp+3*cfg.ElectionTimeout); err != nil {
			m.Stop()
			return nil, err
		}
	}
	ok = true
	startTrimmer(cfg.Log, m.idle)
	for _, ln := range m.lns {
		go m.serve(ln)
	}
	for _, ln := range m.mlns {
		go func() {
			if err := m.front.ServeMetrics(ln); err != nil && !errors.Is(err, net.ErrClosed) {
				m.fail(err)
			}
		}()
	}
	cfg.Log.Info().Str("name", cfg.Name).Str("id", actors.HexID(self.ID)).Str("cluster", actors.HexID(clusterID)).
		Strs("client-urls", cfg.ListenClientURLs).Str("data-dir", cfg.DataDir).Msg("member serving")
	return m, nil
}

// listen binds every client URL, or none.
func listen(urls []string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, u := range urls {
		addr, err := hostPort(u)
		if err == nil {
			var ln net.Listener
			if ln, err = net.Listen("tcp", addr); err == nil {
				lns = append(lns, ln)
				continue
			}
		}
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	return lns, nil
}

func (m *Member) serve(ln net.Listener) {
	if err := m.front.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		m.fail(err)
	}
}

// ClientAddrs are the addresses the client listeners are bound to (useful
// when a URL asked for port 0).
func (m *Member) ClientAddrs() []string {
	addrs := make([]string, len(m.lns))
	for i, ln := range m.lns {
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// MetricsAddrs are the addresses the metrics listeners are bound to.
func (m *Member) MetricsAddrs() []string {
	addrs := make([]string, len(m.mlns))
	for i, ln := range m.mlns {
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// Metrics gathers the member's metrics, as /metrics serves them.
func (m *Member) Metrics() prometheus.Gatherer { return m.reg }

// Failed delivers the first fatal error (a stateful actor crashed, the disk
// failed): the member cannot go on and must be stopped.
func (m *Member) Failed() <-chan error { return m.failed }

func (m *Member) fail(err error) {
	select {
	case m.failed <- err:
	default:
	}
}

// Stop answers or fails the requests in flight, stops the actors in reverse
// order of their dependencies (raft first: it closes bbolt after failing its
// waiters) and returns when they are gone.
func (m *Member) Stop() {
	m.stopOnce.Do(func() {
		close(m.idle)
		if m.front != nil {
			if err := m.front.Shutdown(); err != nil {
				m.log.Warn().Err(err).Msg("http shutdown")
			}
		}
		for _, pid := range []*actor.PID{m.pids.Raft, m.pids.Wheel, m.pids.Tree, m.pids.Hub} {
			if err := m.sys.Root.PoisonFuture(pid).Wait(); err != nil {
				m.log.Warn().Err(err).Str("actor", pid.Id).Msg("stop")
			}
		}
		m.peers.stop()
		m.sys.Shutdown()
		m.lock.release()
	})
}

// stopMember is the guardian of every actor: a panic in the tree or raft actor
// would otherwise restart it empty and silently lose state, so the failing
// actor is stopped and the member told to shut down.
type stopMember struct {
	fail func(error)
}

func (s *stopMember) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	// The reason is whatever the actor panicked with: keep it, it is the
	// only account of why the member stops.
	s.fail(fmt.Errorf("actor %s failed: %v", child.Id, reason))
	sup.StopChildren(child)
}
