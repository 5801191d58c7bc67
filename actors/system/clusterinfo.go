package system

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/httpfront"
)

// A member's peer URLs answer GET /members with the cluster's members, as
// etcd's peer handler does: a member joining with --initial-cluster-state
// existing learns from it who is in the cluster and under which ids, and a
// fresh member learns whether it was bootstrapped before.

const peerMembersPath = "/members"

// peerMember is one member as /members lists it: etcd's membership.Member
// in JSON, with its field names and order and its id as a number.
type peerMember struct {
	ID         uint64   `json:"id"`
	PeerURLs   []string `json:"peerURLs"`
	Name       string   `json:"name,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
}

// membersHandler serves /members from members (with their client URLs as
// this member knows them) and the cluster's id in X-Etcd-Cluster-ID.
func membersHandler(clusterID uint64, members func() []httpfront.Member) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Etcd-Cluster-ID", strconv.FormatUint(clusterID, 16))
		if r.URL.Path != peerMembersPath {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		ms := members()
		if ms == nil {
			http.Error(w, "the membership is not known yet", http.StatusServiceUnavailable)
			return
		}
		out := make([]peerMember, len(ms))
		for i, m := range ms {
			out[i] = peerMember{ID: m.ID, PeerURLs: m.PeerURLs, Name: m.Name, ClientURLs: m.ClientURLs}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

// runningCluster is what a peer's /members said.
type runningCluster struct {
	id      uint64
	members []httpfront.Member
}

// fetchCluster asks each peer URL in turn for the cluster's members and
// returns the first answer (etcd's getClusterFromRemotePeers); logErr logs
// each failure, as joining does (the bootstrap check stays quiet).
func fetchCluster(log zerolog.Logger, urls []string, timeout time.Duration, logErr bool) (*runningCluster, error) {
	c := &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	warn := func(addr, what string, err error) {
		if logErr {
			log.Warn().Str("address", addr).Err(err).Msg(what)
		}
	}
	for _, u := range urls {
		addr := u + peerMembersPath
		resp, err := c.Get(addr)
		if err != nil {
			warn(addr, "failed to get cluster response", err)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			warn(addr, "failed to read body of cluster response", err)
			continue
		}
		var ms []peerMember
		if err := json.Unmarshal(b, &ms); err != nil {
			warn(addr, "failed to unmarshal cluster response", err)
			continue
		}
		id, err := strconv.ParseUint(resp.Header.Get("X-Etcd-Cluster-ID"), 16, 64)
		if err != nil {
			warn(addr, "failed to parse cluster ID", err)
			continue
		}
		if len(ms) == 0 {
			return nil, errors.New("failed to get raft cluster member(s) from the given URLs")
		}
		rc := &runningCluster{id: id}
		for _, m := range ms {
			rc.members = append(rc.members, httpfront.Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs})
		}
		return rc, nil
	}
	return nil, errors.New("could not retrieve cluster information from the given URLs")
}

// urlsEqual reports whether two lists of URLs name the same endpoints, in
// any order: as strings, or else once each host is resolved (etcd's
// URLStringsEqual), so that localhost and 127.0.0.1 are the same.
func urlsEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if sameSorted(a, b) {
		return true
	}
	ra, okA := resolveAll(a)
	rb, okB := resolveAll(b)
	return okA && okB && sameSorted(ra, rb)
}

func sameSorted(a, b []string) bool {
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return len(x) == len(y)
}

func resolveAll(urls []string) ([]string, bool) {
	out := make([]string, len(urls))
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, false
		}
		addr, err := net.ResolveTCPAddr("tcp", u.Host)
		if err != nil {
			return nil, false
		}
		out[i] = u.Scheme + "://" + addr.String()
	}
	return out, true
}
