package system

// Joining a running cluster (--initial-cluster-state existing on an empty
// data dir): the member was added with POST /v2/members beforehand, under an
// id that includes the time it was added, so it cannot derive its id from
// its flags. As etcd does, it asks the other members listed in
// --initial-cluster for the cluster's members (GET /members on their peer
// URLs) and finds itself among them by its peer URLs.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
)

const membersPath = "/members"

// joinTimeout bounds the wait for one peer's answer.
const joinTimeout = 2 * time.Second

// fetchCluster asks the peers for the membership and the cluster id.
func fetchCluster(peers []Peer, self string) ([]actors.Member, uint64, error) {
	c := &http.Client{Timeout: joinTimeout}
	var errs []error
	for _, p := range peers {
		if p.Name == self {
			continue
		}
		for _, u := range p.PeerURLs {
			ms, cid, err := fetchMembers(c, u)
			if err == nil {
				return ms, cid, nil
			}
			errs = append(errs, err)
		}
	}
	return nil, 0, fmt.Errorf("cannot fetch cluster info from peer urls: %w", errors.Join(errs...))
}

func fetchMembers(c *http.Client, peerURL string) ([]actors.Member, uint64, error) {
	resp, err := c.Get(peerURL + membersPath)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%s%s: %s", peerURL, membersPath, resp.Status)
	}
	cid, err := strconv.ParseUint(resp.Header.Get("X-Etcd-Cluster-ID"), 16, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("%s%s: no cluster id", peerURL, membersPath)
	}
	var ms []actors.Member
	if err := json.NewDecoder(resp.Body).Decode(&ms); err != nil {
		return nil, 0, fmt.Errorf("%s%s: %w", peerURL, membersPath, err)
	}
	return ms, cid, nil
}

// findSelf is the member of ms whose peer URLs are ours.
func findSelf(ms []actors.Member, peerURLs []string) (actors.Member, bool) {
	want := slices.Sorted(slices.Values(peerURLs))
	for _, m := range ms {
		if slices.Equal(slices.Sorted(slices.Values(m.PeerURLs)), want) {
			return m, true
		}
	}
	return actors.Member{}, false
}

// serveMembers answers a joining member's GET /members with the membership
// the raft actor has applied, as etcd's peer handler does.
func serveMembers(root *actor.RootContext, raft *actor.PID, clusterID uint64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		ask := &actors.StatusAsk{Done: make(chan *actors.StatusAsk, 1)}
		root.Send(raft, ask)
		select {
		case <-ask.Done:
		case <-time.After(joinTimeout):
			http.Error(w, "membership unavailable", http.StatusServiceUnavailable)
			return
		}
		ms := ask.Status.Members
		if ms == nil {
			ms = []actors.Member{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Etcd-Cluster-ID", actors.HexID(clusterID))
		json.NewEncoder(w).Encode(ms)
	}
}
