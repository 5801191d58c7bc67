package raftactor

import (
	"time"

	"github.com/etcdv2/server/actors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
)

// Config is what one member's raft actor needs.
type Config struct {
	ID    uint64   // this member's id
	Peers []uint64 // initial voters including ID (single member: just ID)
	// Members are the initial cluster's members (names and peer URLs), this
	// one with its client URLs: the membership a new cluster starts with,
	// and what a log of an older build (whose membership had no names) is
	// completed with. Self's name and client URLs are published through raft
	// whenever the applied membership says otherwise.
	Members      []actors.Member
	ClusterToken string // --initial-cluster-token: part of a new member's id
	// ProposalTimeout: a proposal waiting for a leader longer than this
	// fails (its client was told it timed out); 0: it waits.
	ProposalTimeout time.Duration
	// StrictReconfigCheck refuses a change that would leave fewer members
	// connected than a quorum of the cluster it makes (etcd's
	// --strict-reconfig-check).
	StrictReconfigCheck bool
	DataDir             string        // the log lives in DataDir/member/raft.db
	SnapshotCount       uint64        // applied entries between tree snapshots (default 10000)
	TickInterval        time.Duration // raft's logical clock (--heartbeat-interval, default 100ms)
	ElectionTicks       int           // election timeout in ticks (default 10)
	HeartbeatTicks      int           // heartbeat interval in ticks (default 1)
	// PIDs: Tree gets Restore, Committed, TakeSnapshot and quorum Reads;
	// Wheel gets LeaderChanged; Hub gets LeaderLost. A nil PID means nobody
	// listens.
	PIDs      actors.PIDs
	Log       zerolog.Logger
	Fail      func(error) // stops the member: disk errors, undecodable entries
	Transport Transport   // nil: a single member, nobody to talk to
	// VerifyFile checks the log file's consistency before it is opened; a
	// crash while checking must come back as an error (the binary runs
	// VerifyBolt in a child process). nil: no check beyond the meta pages.
	VerifyFile func(path string) error
	// WALSegmentSize is what each WAL segment is preallocated to (0:
	// wal.DefaultSegmentSize).
	WALSegmentSize int64
	// JoinExisting: a fresh log is not bootstrapped with Peers. The member
	// joins a running cluster that already lists it, and waits for the
	// leader to send it the log from its start, or a snapshot.
	JoinExisting bool
	// ForceNewCluster: on a log that holds a cluster, the membership is
	// forced to this member alone before raft starts (forcenew.go).
	ForceNewCluster bool
	// Metrics is where the actor registers its etcd_server_* and
	// etcd_disk_* metrics (the member's registry); nil: nowhere.
	Metrics prometheus.Registerer

	disk  *diskMetrics // the log writer's, made once by Props
	hooks *testHooks
}

// Transport carries raft messages to the other members. Send is called from
// the actor's goroutine and must not block on the network; the messages and
// the entries they hold must not be modified (they are shared with the log).
// Messages from peers come back to the actor as *Inbound.
type Transport interface {
	Send(msgs []*raftpb.Message)
	// The membership applied changes whom to talk to. Called from the
	// actor's goroutine; they must not block on the network either.
	AddPeer(id uint64, urls []string) error
	UpdatePeer(id uint64, urls []string) error
	RemovePeer(id uint64)
	// Refuse: the cluster removed the peer; its messages are refused.
	Refuse(id uint64)
	// ActiveSince: since when the peer is connected; zero while it is not.
	ActiveSince(id uint64) time.Time
}

// Inbound (transport → raftactor) is a raft message from a peer.
type Inbound struct {
	Msg *raftpb.Message
}

// PeerUnreachable (transport → raftactor): a message to the peer could not
// be sent; raft probes it again instead of streaming appends into the void.
type PeerUnreachable struct {
	ID uint64
}

// RemovedByPeer (transport → raftactor): a peer says the cluster removed
// this member, which may have missed the entry itself: it stops.
type RemovedByPeer struct{}

// SnapshotSent (transport → raftactor): a snapshot to the peer was delivered
// (OK) or was not; raft resumes appending to it either way.
type SnapshotSent struct {
	ID uint64
	OK bool
}

// testHooks let tests look inside a running actor.
type testHooks struct {
	opened   func(*logStore) // the log files are open (by the raft actor, or by the writer on coming back)
	replayed func()          // start-up replay is done; requests come next
	syncing  func()          // the log writer is about to sync a batch (runs on its goroutine)
}

const (
	defaultSnapshotCount = 10000
	// Entries kept behind a snapshot so a follower that is a little behind
	// catches up from the log instead of needing the whole snapshot.
	maxSnapshotSlack = 5000
	// appendLogs a lone voter keeps at the writer (one syncing, one queued)
	// before new entries wait for its answer (see holdAppends).
	maxAppendsOut = 1
	// Proposals held while there is no leader; beyond that they fail.
	maxQueuedProposals = 4096
	maxQueuedReads     = 4096
	// raft's batching knobs.
	maxSizePerMsg             = 1 << 20
	maxInflightMsgs           = 512
	maxUncommittedEntriesSize = 128 << 20
)

// initial is the membership of a new cluster: Members, sorted, without
// the removed.
func (c *Config) initial() membership {
	var m membership
	for _, mb := range c.Members {
		m = m.with(mb)
	}
	if _, ok := m.find(c.ID); !ok {
		m = m.with(actors.Member{ID: c.ID})
	}
	return m
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.SnapshotCount == 0 {
		d.SnapshotCount = defaultSnapshotCount
	}
	if d.TickInterval <= 0 {
		d.TickInterval = 100 * time.Millisecond
	}
	if d.HeartbeatTicks <= 0 {
		d.HeartbeatTicks = 1
	}
	if d.ElectionTicks <= d.HeartbeatTicks {
		d.ElectionTicks = max(10, d.HeartbeatTicks+1)
	}
	if len(d.Peers) == 0 {
		d.Peers = []uint64{d.ID}
	}
	return d
}

// snapshotSlack is how many entries stay in the log behind a snapshot:
// always fewer than SnapshotCount, so each snapshot does compact something.
func (c *Config) snapshotSlack() uint64 {
	return min(maxSnapshotSlack, c.SnapshotCount/2)
}
