package actors

import "io"

// Every message is sent as a pointer. A message that asks for an answer
// carries a buffered (capacity ≥ 1) Done channel; the answering actor fills the
// message's answer fields and sends the message itself back on Done, so the
// asker owns it again. After sending a message the sender must not touch it
// until it comes back on Done (a sender that gives up waiting simply drops it).

// Propose (httpfront → raftactor) asks for a write to be replicated and
// applied. The raft actor gives it a request id, appends it to the log and
// hands it to the tree actor with its entry once committed; the tree actor
// answers it after applying the entry on this member. If the write cannot be
// proposed (no leader, stopping) the raft actor answers it with Err.
type Propose struct {
	Cmd Command

	// Answer.
	Event     *Event
	Err       *Error
	RaftIndex uint64
	RaftTerm  uint64
	Done      chan *Propose
}

// Read (httpfront → treeactor, or → raftactor when Quorum) asks for a get. The
// tree looks the key up and counts the get, and answers with the error or
// with View, the tree as of its answer, from which the asker renders the body
// (Render) on its own goroutine: a big listing never holds up the tree. A
// quorum read goes first to the raft actor, which confirms leadership with a
// ReadIndex and forwards the Read to the tree once everything up to that
// index has been handed to the tree.
//
// Backup asks instead for the whole tree (Image), counting no get; sent as a
// quorum read, it is taken at a linearizable point: it holds every write
// acknowledged before it was asked.
type Read struct {
	Path      string
	Recursive bool
	Sorted    bool
	Quorum    bool
	Backup    bool
	Now       int64

	// Answer.
	View      TreeView
	Image     TreeImage // for a Backup
	Found     any       // the view's handle on the key the tree found
	Err       *Error
	EtcdIndex uint64
	RaftIndex uint64
	RaftTerm  uint64
	Done      chan *Read

	// Body is the asker's buffer, kept across pooled uses; Render fills it.
	Body []byte
}

// TreeView is the key space frozen at one moment, safe to read from any
// goroutine.
type TreeView interface {
	// AppendGet appends the body of a get (the "get" event, trailing newline
	// included) of the key found (Read.Found), with ttl seen at now.
	AppendGet(b []byte, found any, recursive, sorted bool, now int64) []byte
}

// TreeImage is the whole key space frozen at one etcd index (the answered
// Read's), safe to write from any goroutine: WriteTo streams the tree's
// snapshot image (nodes, deadlines, indexes, counters, recent events), as
// treeactor restores it.
type TreeImage interface {
	WriteTo(w io.Writer) (int64, error)
}

// Render appends the answered Read's body to Body[:0]: the get event as of
// View, with ttl at Now.
func (r *Read) Render() []byte {
	r.Body = r.View.AppendGet(r.Body[:0], r.Found, r.Recursive, r.Sorted, r.Now)
	return r.Body
}

// Committed (raftactor → treeactor) carries committed entries in log order.
// The tree applies them one by one; it must stop the member on an entry it
// cannot decode rather than skip it.
type Committed struct {
	Entries []Entry
}

// Entry is one committed raft entry. Cmd is nil for entries that change no
// key (the leader's empty entry, configuration changes) but still move the
// raft index. Waiter is the proposal waiting on this member for the entry's
// result, if any.
type Entry struct {
	Index  uint64
	Term   uint64
	Cmd    *Command
	Waiter *Propose
}

// Events (treeactor → watchhub) carries, in index order, the events of one
// applied batch, and the raft position the tree reached with it (a watch
// response shows it in X-Raft-Index/X-Raft-Term). Events are immutable once
// sent: the hub, the front and any watcher may read the same *Event.
type Events struct {
	List      []*Event
	RaftIndex uint64
	RaftTerm  uint64
}

// Restore (raftactor → treeactor) replaces the whole tree with a snapshot's
// data, taken at raft index Index. The tree forwards a Reset to the hub and
// its NextDeadline to the wheel. Data nil means an empty tree (a fresh member).
//
// ServeAt is the raft index the tree must have applied before the member
// answers anyone: at least everything this member had acknowledged before it
// stopped. The tree reports reaching it (after the hub has the same events),
// and only then do the client listeners accept.
type Restore struct {
	Index   uint64
	Term    uint64
	Data    []byte
	ServeAt uint64
}

// Reset (treeactor → watchhub) tells the hub that the tree was replaced and
// now stands at EtcdIndex: its history is void and its watchers are cleared.
type Reset struct {
	EtcdIndex uint64
	RaftIndex uint64
	RaftTerm  uint64
	// Snapshot: the tree was loaded from a snapshot, so the events up to
	// EtcdIndex are real ones (not a store's bootstrap); History holds the
	// last of them the snapshot kept, oldest first, the newest at EtcdIndex.
	Snapshot bool
	History  []*Event
}

// TakeSnapshot (raftactor → treeactor) asks for the tree's state after
// everything handed to it so far. The tree answers by sending a *Snapshot to
// the raft actor's PID (the raft actor never blocks on a reply).
// Prefix goes in front of the image (the raft actor's own part of it).
type TakeSnapshot struct {
	Prefix []byte
}

// Snapshot (treeactor → raftactor) is the tree serialized at raft index Index.
type Snapshot struct {
	Index uint64
	Data  []byte
}

// StoreStatsAsk (httpfront → treeactor) asks for the /v2/stats/store counters
// (the watchers figure is the hub's and filled in by the front).
type StoreStatsAsk struct {
	Stats StoreStats
	Done  chan *StoreStatsAsk
}

// StoreStats are etcd's store counters.
type StoreStats struct {
	GetSuccess, GetFail                           uint64
	SetSuccess, SetFail                           uint64
	DeleteSuccess, DeleteFail                     uint64
	UpdateSuccess, UpdateFail                     uint64
	CreateSuccess, CreateFail                     uint64
	CompareAndSwapSuccess, CompareAndSwapFail     uint64
	CompareAndDeleteSuccess, CompareAndDeleteFail uint64
	ExpireCount                                   uint64
	Watchers                                      uint64
}

// StatusAsk (httpfront → raftactor) asks for the member's raft status.
type StatusAsk struct {
	Status Status
	Done   chan *StatusAsk
}

// Status is what the front needs for /health, /v2/stats/self, /v2/stats/leader
// and the X-Raft-* headers of errors.
type Status struct {
	ID                   uint64
	Lead                 uint64
	Term                 uint64
	Commit               uint64
	Applied              uint64
	IsLeader             bool
	LeaderSince          int64 // unix nanoseconds when this member last saw a new leader
	StartTime            int64 // unix nanoseconds the member started
	RecvAppendRequestCnt uint64
	SendAppendRequestCnt uint64
	// Appends (and their bytes) per second over the last 200; 0 after a
	// second without one.
	RecvPkgRate, RecvBandwidthRate float64
	SendPkgRate, SendBandwidthRate float64
	// The membership as applied here, sorted by id, shared: never change it.
	Members []Member
	Removed []uint64
	// Followers: on the leader, its figures of each follower (a copy).
	Followers []FollowerStats
}

// RaftStatusAsk (httpfront → raftactor) asks for raft's own status as JSON
// (raft.Status's rendering, which etcd publishes as "raft.status" in
// /debug/vars); "null" before raft runs.
type RaftStatusAsk struct {
	JSON []byte
	Done chan *RaftStatusAsk
}

// LeaderChanged (raftactor → ttlwheel) reports a change of leader
// or term; IsLeader is whether this member leads now.
type LeaderChanged struct {
	IsLeader bool
	Lead     uint64
	Term     uint64
}

// Watch (httpfront → watchhub) registers a long poll. SinceIndex 0 means "the
// next event"; otherwise the first matching event at or after SinceIndex,
// answered at once from the history when it is there. Deliveries go to Sink,
// never blocking, and the first one answers the registration at once: an
// error (such as 401) that ends the watch, or an acknowledgment (a WatchEvent
// with neither Event nor Err) carrying the indexes for the response headers.
// After the acknowledgment a one-shot watch gets at most one more delivery
// (its event, from the history or live), so its Sink needs room for two; a
// stream keeps getting them until it is unwatched or falls off the history.
type Watch struct {
	ID         uint64
	Path       string
	Recursive  bool
	Stream     bool
	SinceIndex uint64
	Sink       WatchSink
}

// WatchSink takes a watch's deliveries. The hub calls Deliver from its own
// goroutine and Deliver must never block: false means "no room now", and the
// hub keeps the delivery (a stream is refilled from the history later, in
// order). Whatever Deliver accepts it must not modify.
type WatchSink interface {
	Deliver(*WatchEvent) bool
}

// ChanSink is a WatchSink on a buffered channel; its capacity is the room.
type ChanSink chan *WatchEvent

// Deliver sends we if the channel has room.
func (c ChanSink) Deliver(we *WatchEvent) bool {
	select {
	case c <- we:
		return true
	default:
		return false
	}
}

// WatchEvent (watchhub → the front's watcher) is one delivery: an event, an
// error, or (first, for a watch that waits) an acknowledgment with neither.
// EtcdIndex is the index when the watch was registered (the X-Etcd-Index of
// the response), HistoryStart the oldest index still answerable, RaftIndex
// and RaftTerm the raft position then. WatchEvents may be shared by several
// watchers: read-only.
type WatchEvent struct {
	Event        *Event
	Err          *Error
	EtcdIndex    uint64
	HistoryStart uint64
	RaftIndex    uint64
	RaftTerm     uint64
}

// Unwatch (httpfront → watchhub) removes a watch whose client is gone or whose
// wait ended.
type Unwatch struct {
	ID uint64
}

// WatcherCountAsk (httpfront → watchhub) asks how many watchers are attached.
type WatcherCountAsk struct {
	Count uint64
	Done  chan *WatcherCountAsk
}

// NextDeadline (treeactor → ttlwheel) gives the earliest deadline in the
// tree, in unix nanoseconds (0: nothing expires), after a batch that moved it
// and after every restore. The tree owns the deadlines; the timer actor knows
// only this one. Restored says the tree was replaced, so no sweep sent before
// covers anything in it.
type NextDeadline struct {
	At       int64
	Restored bool
}

// ProposeExpire (ttlwheel → raftactor) asks the leader to replicate an expire
// sweep stamped with the leader's clock Now.
type ProposeExpire struct {
	Now int64
}

// Tick (timer → raftactor) drives raft's logical clock.
type Tick struct{}

// LeaderLost (raftactor → watchhub) says that the member has been without a
// leader for a few election timeouts (Lost), or has one again (!Lost). A
// member cut off from its quorum sees no new events, so a watch on it would
// wait forever (etcd#7143): while Lost, the hub ends every watch with
// NoLeaderError and answers new ones with it at once, and the client goes to
// another member.
type LeaderLost struct {
	Lost bool
}
