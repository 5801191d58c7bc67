package system

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront"
)

// Who a member is, decided before it binds a port or writes a byte, as etcd
// decides it: a data dir that already holds a member is that member, whatever
// the flags say now; a fresh one takes its identity from the flags, which
// must then be consistent, and either bootstraps a new cluster (state new) or
// joins a running one, whose members it asks for over their peer URLs
// (state existing). A wrong or inconsistent set of flags stops the start with
// one error: a member half started on them would be a stranger to its own
// cluster.

// boot is that decision.
type boot struct {
	self      httpfront.Member
	members   []httpfront.Member // the whole cluster, self included, sorted by id
	clusterID uint64
	known     bool     // the data dir holds a member already
	stored    identity // what it holds, when known
	// join: a fresh raft log is not bootstrapped with the members; the
	// member waits for its leader to send it the log (or a snapshot).
	join bool
	// force: rewrite the membership to this member alone
	// (--force-new-cluster on a data dir that holds one).
	force bool
}

// Timeouts of the requests to the other members' peer URLs: joining waits as
// long as etcd does (GetClusterFromRemotePeers); the check that a new
// member was not bootstrapped before is etcd's --bootstrap-timeout default.
var (
	joinFetchTimeout      = 10 * time.Second
	bootstrapCheckTimeout = time.Second
)

// decideBoot reads the data dir's identity and checks the flags against it
// and against the running cluster. It changes nothing on disk.
func decideBoot(cfg *Config) (*boot, error) {
	peers, err := cfg.Peers()
	if err != nil {
		return nil, err
	}
	b := &boot{}
	ids := make([]uint64, len(peers))
	for i, p := range peers {
		ids[i] = p.ID
		m := httpfront.Member{ID: p.ID, Name: p.Name, PeerURLs: p.PeerURLs}
		if p.Name == cfg.Name {
			m.ClientURLs = cfg.AdvertiseClientURLs
			b.self = m
		}
		b.members = append(b.members, m)
	}
	b.clusterID = ClusterID(ids)
	if b.stored, b.known, err = loadIdentity(cfg.DataDir); err != nil {
		return nil, err
	}
	if b.known {
		if err := logPresent(cfg.DataDir, b.stored); err != nil {
			return nil, err
		}
		b.keepStored(cfg)
		return b, nil
	}
	if dup := duplicateURL(peers); dup != "" {
		return nil, fmt.Errorf("initial cluster %s has duplicate url %s", urlsMapString(peers), dup)
	}
	if cfg.InitialClusterState == "existing" {
		return b, b.joinExisting(cfg)
	}
	if err := advertiseMatches(cfg, b.self.PeerURLs); err != nil {
		return nil, err
	}
	if len(peers) > 1 && b.bootstrappedBefore(cfg) {
		return nil, fmt.Errorf("member %s has already been bootstrapped", actors.HexID(b.self.ID))
	}
	return b, nil
}

// keepStored makes the member the one its data dir holds: the bootstrap
// flags are ignored (said once, when they disagree), and with
// --force-new-cluster the cluster is this member alone.
func (b *boot) keepStored(cfg *Config) {
	if b.stored.MemberID != b.self.ID || b.stored.ClusterID != b.clusterID {
		ev := cfg.Log.Info()
		if b.stored.ClusterID != b.clusterID && cfg.InitialClusterState == "new" {
			// The flags ask for a new cluster, the data dir holds another:
			// most likely a data dir given to the wrong member.
			ev = cfg.Log.Warn()
		}
		ev.Str("data-dir", cfg.DataDir).Str("id", actors.HexID(b.stored.MemberID)).Str("cluster", actors.HexID(b.stored.ClusterID)).
			Str("flags-id", actors.HexID(b.self.ID)).Str("flags-cluster", actors.HexID(b.clusterID)).
			Msg("the data dir already holds a member of a cluster: --initial-cluster, --initial-cluster-state and --initial-cluster-token are ignored")
	}
	for i := range b.members {
		if b.members[i].ID == b.self.ID {
			b.members[i].ID = b.stored.MemberID
		}
	}
	b.self.ID, b.clusterID = b.stored.MemberID, b.stored.ClusterID
	if cfg.ForceNewCluster {
		b.force = true
		b.members = []httpfront.Member{b.self}
	}
	// A member of a cluster whose log is still empty (it stopped before its
	// leader reached it) must not bootstrap now: it may have joined a
	// running cluster, whose log it would contradict. Alone, nobody else
	// could give it a log, so it bootstraps as it did the first time.
	b.join = len(b.members) > 1
	sortMembers(b.members)
}

// joinExisting is --initial-cluster-state existing on a fresh data dir, as
// etcd does it: the running cluster's members are fetched from the others'
// peer URLs, must be the members the flags list (by peer URLs), and give
// every member, this one included, its id; the cluster's id comes with them.
func (b *boot) joinExisting(cfg *Config) error {
	remote, err := fetchCluster(cfg.Log, remotePeerURLs(b.members, cfg.Name), joinFetchTimeout, true)
	if err != nil {
		return fmt.Errorf("cannot fetch cluster info from peer urls: %w", err)
	}
	if err := assignIDs(b.members, remote.members); err != nil {
		return fmt.Errorf("error validating peerURLs of cluster %s (%s): %w", actors.HexID(remote.id), describe(remote.members), err)
	}
	for _, m := range b.members {
		if m.Name == cfg.Name {
			b.self.ID = m.ID
		}
	}
	b.clusterID = remote.id
	b.join = true
	sortMembers(b.members)
	return nil
}

// bootstrappedBefore is etcd's isMemberBootstrapped: a running member of the
// cluster already knows this one as published (it has client URLs), so this
// fresh data dir is a lost one, and bootstrapping again would fork the
// cluster's log.
func (b *boot) bootstrappedBefore(cfg *Config) bool {
	remote, err := fetchCluster(cfg.Log, remotePeerURLs(b.members, cfg.Name), bootstrapCheckTimeout, false)
	if err != nil {
		return false
	}
	for _, m := range remote.members {
		if m.ID == b.self.ID {
			return len(m.ClientURLs) > 0
		}
	}
	return false
}

// assignIDs is etcd's ValidateClusterAndAssignIDs: the running cluster has as
// many members as the flags list, each running member has the peer URLs of
// one listed, and the listed member takes its id.
func assignIDs(local []httpfront.Member, running []httpfront.Member) error {
	if len(local) != len(running) {
		return errors.New("member count is unequal")
	}
	for _, r := range running {
		found := false
		for i := range local {
			if urlsEqual(local[i].PeerURLs, r.PeerURLs) {
				local[i].ID = r.ID
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("PeerURLs: no match found for existing member (%s, %v)", actors.HexID(r.ID), r.PeerURLs)
		}
	}
	return nil
}

// advertiseMatches is etcd's advertiseMatchesCluster: the peer URLs this
// member advertises are the ones --initial-cluster gives its name.
func advertiseMatches(cfg *Config, listed []string) error {
	adv := cfg.InitialAdvertisePeerURLs
	if urlsEqual(adv, listed) {
		return nil
	}
	missing := func(from, in []string) []string {
		var out []string
	next:
		for _, u := range from {
			for _, v := range in {
				if urlsEqual([]string{u}, []string{v}) {
					continue next
				}
			}
			out = append(out, u)
		}
		return out
	}
	advStr := strings.Join(adv, ",")
	if m := missing(listed, adv); len(m) > 0 {
		for i := range m {
			m[i] = cfg.Name + "=" + m[i]
		}
		return fmt.Errorf("--initial-cluster has %s but missing from --initial-advertise-peer-urls=%s", strings.Join(m, ","), advStr)
	}
	var named []string
	for _, u := range listed {
		named = append(named, cfg.Name+"="+u)
	}
	if m := missing(adv, listed); len(m) > 0 {
		return fmt.Errorf("--initial-advertise-peer-urls has %s but missing from --initial-cluster=%s", strings.Join(m, ","), strings.Join(named, ","))
	}
	return fmt.Errorf("failed to resolve %s to match --initial-cluster=%s", advStr, strings.Join(named, ","))
}

// duplicateURL returns a peer URL listed twice in --initial-cluster, if any.
func duplicateURL(peers []Peer) string {
	seen := map[string]bool{}
	for _, p := range peers {
		for _, u := range p.PeerURLs {
			if seen[u] {
				return u
			}
			seen[u] = true
		}
	}
	return ""
}

// urlsMapString renders the members as etcd prints an initial cluster:
// name=url pairs, sorted.
func urlsMapString(peers []Peer) string {
	var pairs []string
	for _, p := range peers {
		for _, u := range p.PeerURLs {
			pairs = append(pairs, p.Name+"="+u)
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// remotePeerURLs are the peer URLs of every member but the named one, sorted.
func remotePeerURLs(members []httpfront.Member, self string) []string {
	var us []string
	for _, m := range members {
		if m.Name != self {
			us = append(us, m.PeerURLs...)
		}
	}
	sort.Strings(us)
	return us
}

func sortMembers(ms []httpfront.Member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
}

func describe(ms []httpfront.Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = actors.HexID(m.ID) + "=" + strings.Join(m.PeerURLs, ",")
	}
	return strings.Join(parts, " ")
}

// checkURL is etcd's types.NewURLs rule for one URL of a member.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL scheme must be http or https: %s", raw)
	}
	if u.Port() == "" {
		return fmt.Errorf(`URL address does not have the form "host:port": %s`, raw)
	}
	if u.Path != "" {
		return fmt.Errorf("URL must not contain a path: %s", raw)
	}
	return nil
}

// catchUpProbe is the key the catch-up read asks for: one no client can
// create, so the answer is a small "not found".
const catchUpProbe = "/\x00catch-up"

// restartCatchUp (plus a few election timeouts) bounds a restarted member's
// wait for its leader.
const restartCatchUp = 2 * time.Second

// catchUp holds a member that has just joined a running cluster back from
// its clients until it has applied everything the cluster had committed when
// it asked: a linearizable read, which goes through the leader and is
// answered once this member's tree has caught up. Until then the tree is
// empty or behind, and etcd too serves a joining member's clients only once
// it has caught up.
//
// A read is asked again every retry, the earlier ones still standing: the
// first answers are often lost (this member drops its leader's responses
// until the membership is replayed from the log the leader sends), and a big
// catch-up may take longer than any one wait. The first good answer ends
// it; it waits as long as it takes (the leader may be adding this member
// only now), saying so now and then, and gives up only if the member fails.
func (m *Member) catchUp(log zerolog.Logger, retry, limit time.Duration) error {
	start := time.Now()
	var give <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		give = t.C
	}
	answers := make(chan *actors.Read)
	quit := make(chan struct{})
	defer close(quit)
	ask := func() {
		r := &actors.Read{Path: catchUpProbe, Quorum: true, Now: time.Now().UnixNano(), Done: make(chan *actors.Read, 1)}
		m.sys.Root.Send(m.pids.Raft, r)
		go func() {
			select {
			case a := <-r.Done:
				select {
				case answers <- a:
				case <-quit:
				}
			case <-quit:
			}
		}()
	}
	ask()
	tick := time.NewTicker(retry)
	defer tick.Stop()
	said := start
	for {
		select {
		case a := <-answers:
			if a.Err == nil || a.Err.Code < actors.EcodeRaftInternal {
				log.Info().Dur("took", time.Since(start)).Uint64("raft-index", a.RaftIndex).Msg("caught up with the cluster")
				return nil
			}
		case <-give:
			log.Warn().Dur("waited", time.Since(start)).Msg("no leader to catch up with: serving what this member has, which may lack writes it acknowledged before it stopped")
			return nil
		case <-tick.C:
			ask()
			if time.Since(said) >= 10*time.Second {
				said = time.Now()
				log.Warn().Dur("waited", time.Since(start)).Msg("waiting to catch up with the cluster's leader before serving clients")
			}
		case err := <-m.failed:
			return err
		}
	}
}
