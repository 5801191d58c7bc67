package raftactor

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// ackingPeer plays member id of a cluster: it grants votes, answers
// heartbeats and, while ack is set, acknowledges every append, so that
// with it the member it talks to has a quorum of a three-member cluster.
type ackingPeer struct {
	root   *actor.RootContext
	target atomic.Pointer[actor.PID]
	id     uint64
	ack    atomic.Bool
}

func (p *ackingPeer) Send(msgs []*raftpb.Message) {
	target := p.target.Load()
	if target == nil {
		return
	}
	for _, m := range msgs {
		if m.GetTo() != p.id {
			continue
		}
		resp := &raftpb.Message{From: new(p.id), To: new(m.GetFrom()), Term: new(m.GetTerm())}
		switch m.GetType() {
		case raftpb.MsgPreVote:
			resp.Type = raftpb.MsgPreVoteResp.Enum()
		case raftpb.MsgVote:
			resp.Type = raftpb.MsgVoteResp.Enum()
		case raftpb.MsgHeartbeat:
			resp.Type = raftpb.MsgHeartbeatResp.Enum()
		case raftpb.MsgApp:
			if !p.ack.Load() {
				continue
			}
			resp.Type = raftpb.MsgAppResp.Enum()
			resp.Index = new(m.GetIndex() + uint64(len(m.GetEntries())))
		default:
			continue
		}
		p.root.Send(target, &Inbound{Msg: resp})
	}
}

// confChanges reads the conf changes in the log of dataDir.
func confChanges(t *testing.T, dataDir string) []string {
	t.Helper()
	store, st, err := openLogStore(filepath.Join(dataDir, "member"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.close()
	var out []string
	for _, e := range st.entries {
		if e.GetType() != raftpb.EntryConfChange {
			continue
		}
		var cc raftpb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d", cc.GetType(), cc.GetNodeId()))
	}
	return out
}

// logEnd is the last index and the commit index in the log of dataDir.
func logEnd(t *testing.T, dataDir string) (last, commit uint64) {
	t.Helper()
	store, st, err := openLogStore(filepath.Join(dataDir, "member"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.close()
	return st.entries[len(st.entries)-1].GetIndex(), st.hardState.GetCommit()
}

// A member of a three-member cluster that lost the other two restarts with
// ForceNewCluster as the only member: what was committed is applied again,
// what was not is gone, the other two are removed in its log, it elects
// itself and takes writes; forcing again changes nothing more.
func TestForceNewClusterLeavesTheMemberAlone(t *testing.T) {
	dir := t.TempDir()
	sys := newSystem(t)
	peer := &ackingPeer{root: sys.Root, id: 2}
	peer.ack.Store(true)
	m := startMember(t, sys, Config{ID: 1, Peers: []uint64{1, 2, 3}, DataDir: dir, TickInterval: 2 * time.Millisecond, Transport: peer})
	peer.target.Store(m.raft)
	var committed []string
	for i := range 5 {
		path := fmt.Sprintf("/c%d", i)
		for {
			if p := await(t, m.propose(path).Done); p.Err == nil {
				break // refused while there is no leader yet: again
			}
			time.Sleep(5 * time.Millisecond)
		}
		committed = append(committed, path)
	}
	peer.ack.Store(false) // the quorum is gone
	synced := m.log.Load().syncs.Load()
	lost := m.propose("/uncommitted")
	for deadline := time.Now().Add(waitLimit); m.log.Load().syncs.Load() == synced; {
		if time.Now().After(deadline) {
			t.Fatal("the uncommitted write never reached the log")
		}
		time.Sleep(time.Millisecond)
	}
	m.stop()
	assertStopped(t, await(t, lost.Done).Err)
	if last, commit := logEnd(t, dir); last != commit+1 {
		t.Fatalf("log ends at %d, commit %d: want one uncommitted entry", last, commit)
	}

	for round := range 2 {
		m = startMember(t, sys, Config{ID: 1, DataDir: dir, TickInterval: 2 * time.Millisecond, ForceNewCluster: true})
		var paths []string
		for st := m.status(); !st.IsLeader; st = m.status() {
			time.Sleep(5 * time.Millisecond)
		}
		p := await(t, m.propose(fmt.Sprintf("/after%d", round)).Done)
		if p.Err != nil {
			t.Fatalf("round %d: write on the forced member: %v", round, p.Err)
		}
		m.syncTree()
	drain:
		for {
			select {
			case v := <-m.out:
				if c, ok := v.(*actors.Committed); ok {
					for _, e := range c.Entries {
						if e.Cmd != nil {
							paths = append(paths, e.Cmd.Path)
						}
					}
				}
			default:
				break drain
			}
		}
		want := append([]string(nil), committed...)
		for r := 0; r <= round; r++ {
			want = append(want, fmt.Sprintf("/after%d", r))
		}
		if !reflect.DeepEqual(paths, want) {
			t.Fatalf("round %d: the tree got %v, want %v", round, paths, want)
		}
		m.stop()
		if got, want := confChanges(t, dir), []string{
			"ConfChangeAddNode 1", "ConfChangeAddNode 2", "ConfChangeAddNode 3",
			"ConfChangeRemoveNode 2", "ConfChangeRemoveNode 3",
		}; !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: conf changes in the log %v, want %v", round, got, want)
		}
	}
}

// forceAlone on logs built by hand: removals follow the commit index and
// the membership as of it (snapshot and conf changes), uncommitted entries
// are cut, a member removed before is added back, and a member alone
// already is left as it is.
func TestForceAlone(t *testing.T) {
	cc := func(i, term uint64, typ raftpb.ConfChangeType, id uint64) *raftpb.Entry {
		data, _ := proto.Marshal(&raftpb.ConfChange{Type: typ.Enum(), NodeId: new(id)})
		return &raftpb.Entry{Index: new(i), Term: new(term), Type: raftpb.EntryConfChange.Enum(), Data: data}
	}
	norm := func(i, term uint64) *raftpb.Entry {
		return &raftpb.Entry{Index: new(i), Term: new(term), Type: raftpb.EntryNormal.Enum()}
	}
	hs := func(term, vote, commit uint64) *raftpb.HardState {
		return &raftpb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}
	}
	add, rm := raftpb.ConfChangeAddNode, raftpb.ConfChangeRemoveNode
	bootstrap := []*raftpb.Entry{cc(1, 1, add, 1), cc(2, 1, add, 2), cc(3, 1, add, 3)}
	describe := func(f *forcedLog) string {
		if f == nil {
			return "nothing"
		}
		s := fmt.Sprintf("keep %d commit %d term %d:", f.keep, f.hs.GetCommit(), f.hs.GetTerm())
		for _, e := range f.ents {
			var c raftpb.ConfChange
			_ = proto.Unmarshal(e.GetData(), &c)
			s += fmt.Sprintf(" %d@%d/%s %d", e.GetIndex(), e.GetTerm(), c.GetType(), c.GetNodeId())
		}
		return s
	}
	snapAt := func(i, term uint64, voters ...uint64) *raftpb.Snapshot {
		return &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(i), Term: new(term),
			ConfState: &raftpb.ConfState{Voters: voters}}}
	}
	for _, c := range []struct {
		name string
		st   *logState
		self uint64
		want string
	}{
		{"uncommitted tail cut", &logState{hardState: hs(3, 1, 5), entries: append(bootstrap[:3:3], norm(4, 2), norm(5, 3), norm(6, 3))},
			1, "keep 5 commit 7 term 3: 6@3/ConfChangeRemoveNode 2 7@3/ConfChangeRemoveNode 3"},
		{"removed member added back", &logState{hardState: hs(2, 0, 4), entries: append(bootstrap[:3:3], cc(4, 2, rm, 3))},
			3, "keep 4 commit 7 term 2: 5@2/ConfChangeRemoveNode 1 6@2/ConfChangeRemoveNode 2 7@2/ConfChangeAddNode 3"},
		{"membership from the snapshot", &logState{hardState: hs(4, 2, 12), snapshot: snapAt(10, 4, 2, 5, 9),
			entries: []*raftpb.Entry{cc(9, 4, add, 7), norm(10, 4), norm(11, 4), cc(12, 4, add, 8)}},
			5, "keep 4 commit 15 term 4: 13@4/ConfChangeRemoveNode 2 14@4/ConfChangeRemoveNode 8 15@4/ConfChangeRemoveNode 9"},
		{"alone already", &logState{hardState: hs(2, 1, 3), entries: append(bootstrap[:1:1], norm(2, 2), norm(3, 2), norm(4, 2))},
			1, "nothing"},
	} {
		f, err := forceAlone(c.st, c.self)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := describe(f); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
	}
	if _, err := forceAlone(&logState{hardState: hs(1, 1, 9), entries: bootstrap}, 1); err == nil {
		t.Error("a commit index past the log was accepted")
	}
}

// A member joining a running cluster (JoinExisting) writes no bootstrap
// entries of its own and never campaigns: it is no voter until the leader's
// log says so. Without JoinExisting the same fresh member bootstraps.
func TestJoinExistingDoesNotBootstrap(t *testing.T) {
	sys := newSystem(t)
	for _, join := range []bool{true, false} {
		dir := t.TempDir()
		m := startMember(t, sys, Config{ID: 1, Peers: []uint64{1, 2}, DataDir: dir, TickInterval: time.Millisecond,
			ElectionTicks: 10, JoinExisting: join})
		time.Sleep(100 * time.Millisecond) // some 100 ticks: several election timeouts
		st := m.status()
		m.stop()
		store, ls, err := openLogStore(filepath.Join(dir, "member"), 0)
		if err != nil {
			t.Fatal(err)
		}
		store.close()
		if join && (len(ls.entries) != 0 || st.Term != 0 || st.Lead != 0) {
			t.Fatalf("joining member: %d entries, status %+v", len(ls.entries), st)
		}
		if !join && (len(ls.entries) != 2 || st.Term == 0) {
			t.Fatalf("bootstrapping member: %d entries, status %+v", len(ls.entries), st)
		}
	}
}

func (p *ackingPeer) AddPeer(uint64, []string) error    { return nil }
func (p *ackingPeer) UpdatePeer(uint64, []string) error { return nil }
func (p *ackingPeer) RemovePeer(uint64)                 {}
func (p *ackingPeer) Refuse(uint64)                     {}
func (p *ackingPeer) ActiveSince(uint64) time.Time      { return time.Time{} }
