package raftactor

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/actortest"
)

func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	v, ok := actortest.Metric(reg, name)
	if !ok {
		t.Fatalf("no series %s", name)
	}
	return v
}

// A lone member elects itself, and its writes move the proposal indexes and
// the disk histograms; nothing is left pending or counted as failed.
func TestMetricsOfALeaderThatWrites(t *testing.T) {
	sys := newSystem(t)
	reg := prometheus.NewRegistry()
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir(), Metrics: reg})
	const n = 5
	for i := range n {
		if got := await(t, m.propose(fmt.Sprintf("/k%d", i)).Done); got.Err != nil {
			t.Fatal(got.Err)
		}
	}
	st := m.status()
	for name, want := range map[string]float64{
		"etcd_server_has_leader":                1,
		"etcd_server_is_leader":                 1,
		"etcd_server_leader_changes_seen_total": 1,
		"etcd_server_proposals_committed_total": float64(st.Commit),
		"etcd_server_proposals_applied_total":   float64(st.Applied),
		"etcd_server_proposals_pending":         0,
		"etcd_server_proposals_failed_total":    0,
	} {
		if got := metric(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if st.Applied < firstProposalIndex+n-1 {
		t.Fatalf("applied %d after %d writes", st.Applied, n)
	}
	// One fdatasync at least per write (they were sequential), and the
	// first sync also noted in raft.db that the WAL holds records.
	if got := metric(t, reg, "etcd_disk_wal_fsync_duration_seconds"); got < n {
		t.Errorf("%v WAL fsyncs observed, want at least %d", got, n)
	}
	if got := metric(t, reg, "etcd_disk_wal_write_bytes_total"); got <= 0 {
		t.Errorf("WAL bytes written: %v", got)
	}
	if got := metric(t, reg, "etcd_disk_backend_commit_duration_seconds"); got < 1 {
		t.Errorf("%v raft.db commits observed, want at least 1", got)
	}
	m.stop()
}

// Without a quorum nothing commits: proposals wait (pending), and those the
// member gives up on count as failed.
func TestMetricsOfProposalsWithoutALeader(t *testing.T) {
	sys := newSystem(t)
	reg := prometheus.NewRegistry()
	m := startMember(t, sys, Config{ID: 1, Peers: []uint64{1, 2}, DataDir: t.TempDir(), TickInterval: time.Hour, Metrics: reg})
	for i := range 3 {
		m.propose(fmt.Sprintf("/q%d", i))
	}
	m.status() // handled after the proposals
	if got := metric(t, reg, "etcd_server_proposals_pending"); got != 3 {
		t.Fatalf("pending %v, want 3", got)
	}
	if got := metric(t, reg, "etcd_server_has_leader"); got != 0 {
		t.Fatalf("has_leader %v without a quorum", got)
	}
	m.stop()
	if got := metric(t, reg, "etcd_server_proposals_failed_total"); got != 3 {
		t.Fatalf("failed %v after stopping with 3 waiting, want 3", got)
	}
}

// /debug/vars' raft.status is raft's own status rendering, ids in hex.
func TestRaftStatusAskAnswersRaftsJSON(t *testing.T) {
	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 0x1a, DataDir: t.TempDir()})
	if got := await(t, m.propose("/a").Done); got.Err != nil {
		t.Fatal(got.Err)
	}
	ask := &actors.RaftStatusAsk{Done: make(chan *actors.RaftStatusAsk, 1)}
	sys.Root.Send(m.raft, ask)
	var st struct {
		ID        string `json:"id"`
		Lead      string `json:"lead"`
		RaftState string `json:"raftState"`
		Commit    uint64 `json:"commit"`
		Progress  map[string]struct {
			Match uint64 `json:"match"`
		} `json:"progress"`
	}
	if err := json.Unmarshal(await(t, ask.Done).JSON, &st); err != nil {
		t.Fatal(err)
	}
	if st.ID != "1a" || st.Lead != "1a" || st.RaftState != "StateLeader" || st.Commit < firstProposalIndex || st.Progress["1a"].Match != st.Commit {
		t.Fatalf("raft status %+v", st)
	}
	m.stop()
}
