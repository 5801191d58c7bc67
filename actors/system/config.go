package system

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Config is one member's settings, as cmd/etcdv2 reads them from etcd's flags.
type Config struct {
	Name                string
	DataDir             string
	ListenClientURLs    []string
	AdvertiseClientURLs []string
	ListenPeerURLs      []string
	// ListenMetricsURLs are etcd's --listen-metrics-urls: /metrics and
	// /health only, besides the client URLs; checked as the client URLs are.
	ListenMetricsURLs        []string
	InitialAdvertisePeerURLs []string
	InitialCluster           string // name=peerURL,...; empty: this member alone
	InitialClusterState      string
	InitialClusterToken      string
	SnapshotCount            uint64
	HeartbeatInterval        time.Duration
	ElectionTimeout          time.Duration
	WatchHistory             int
	WatchMaxWait             time.Duration
	EnablePprof              bool
	// CORS are the origins allowed to make cross-origin requests (etcd's
	// --cors); empty: every origin.
	CORS []string
	// HostWhitelist are the host names client requests may name (etcd's
	// --host-whitelist); empty or "*": any.
	HostWhitelist []string
	Log           zerolog.Logger
	// VerifyFile checks the raft log file before it is opened (see
	// raftactor.Config.VerifyFile); nil: the meta pages only.
	VerifyFile func(path string) error
	// ForceNewCluster: a member whose data dir holds a cluster restarts as
	// that cluster's only member (etcd's --force-new-cluster); ignored on a
	// fresh data dir, as in etcd.
	ForceNewCluster bool
	// StrictReconfigCheck refuses membership changes that would leave the
	// cluster without a quorum of started members (etcd's default).
	StrictReconfigCheck bool
}

// Peer is one member of the initial cluster.
type Peer struct {
	ID       uint64
	Name     string
	PeerURLs []string
}

// Peers parses --initial-cluster (name=url pairs, a name may repeat for
// several URLs) into members with etcd's ids, sorted by id.
func (c *Config) Peers() ([]Peer, error) {
	spec := c.InitialCluster
	if spec == "" {
		spec = c.Name + "=" + strings.Join(c.InitialAdvertisePeerURLs, ","+c.Name+"=")
	}
	byName := map[string][]string{}
	var order []string
	for _, part := range strings.Split(spec, ",") {
		name, u, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" {
			return nil, errors.New("--initial-cluster: expected name=url, got " + part)
		}
		if err := checkURL(u); err != nil {
			return nil, errors.New("--initial-cluster: " + err.Error())
		}
		if _, seen := byName[name]; !seen {
			order = append(order, name)
		}
		byName[name] = append(byName[name], u)
	}
	if _, ok := byName[c.Name]; !ok {
		return nil, fmt.Errorf("couldn't find local name %q in the initial cluster configuration", c.Name)
	}
	peers := make([]Peer, 0, len(order))
	for _, name := range order {
		urls := byName[name]
		peers = append(peers, Peer{ID: MemberID(urls, c.InitialClusterToken), Name: name, PeerURLs: urls})
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].ID < peers[j].ID })
	return peers, nil
}

// hostPort turns a listen URL (http://127.0.0.1:2379) into host:port.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" {
		return "", errors.New("only http:// URLs are served: " + raw)
	}
	return u.Host, nil
}
