package raftactor

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

const (
	u1  = "http://127.0.0.1:2380"
	u1b = "http://127.0.0.1:2390"
	u2  = "http://127.0.0.1:2480"
)

func (m *member) change(kind actors.MemberChangeKind, mb actors.Member) *actors.MemberChange {
	m.t.Helper()
	c := &actors.MemberChange{Kind: kind, Member: mb, Done: make(chan *actors.MemberChange, 1)}
	m.sys.Root.Send(m.raft, c)
	select {
	case got := <-c.Done:
		return got
	case <-time.After(waitLimit):
		m.t.Fatalf("no answer to %+v", c)
		return nil
	}
}

// membersBecome waits until the applied membership is want.
func (m *member) membersBecome(want []actors.Member) {
	m.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		st := m.status()
		if reflect.DeepEqual(st.Members, want) {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("members %+v, want %+v", st.Members, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A member publishes its name and client URLs; changes are checked against
// the applied membership with etcd's refusals, applied through raft, and
// survive a restart, from the log and then from a snapshot once the log
// holding them is compacted.
func TestMembershipChangesThroughRaft(t *testing.T) {
	sys := newSystem(t)
	dir := t.TempDir()
	self := actors.Member{ID: 1, Name: "one", PeerURLs: []string{u1}, ClientURLs: []string{"http://127.0.0.1:2379"}}
	cfg := Config{ID: 1, DataDir: dir, TickInterval: 5 * time.Millisecond, SnapshotCount: 8,
		Members: []actors.Member{self}, ClusterToken: "tok", StrictReconfigCheck: true}
	m := startMember(t, sys, cfg)
	m.membersBecome([]actors.Member{self})

	updated := self
	updated.PeerURLs = []string{u1b}
	if got := m.change(actors.MemberUpdate, actors.Member{ID: 1, PeerURLs: []string{u1b}}); got.Status != 0 || !reflect.DeepEqual(got.Member, updated) {
		t.Fatalf("update: %+v", got)
	}
	m.membersBecome([]actors.Member{updated})
	refusals := []struct {
		name   string
		kind   actors.MemberChangeKind
		mb     actors.Member
		status int
		msg    string
	}{
		{"update unknown", actors.MemberUpdate, actors.Member{ID: 7, PeerURLs: []string{u2}}, http.StatusNotFound, "No such member: 7"},
		{"remove unknown", actors.MemberRemove, actors.Member{ID: 0xab}, http.StatusNotFound, "No such member: ab"},
		{"add a taken URL", actors.MemberAdd, actors.Member{PeerURLs: []string{u1b}}, http.StatusConflict, actors.ErrMemberPeerURLExists},
		// Strict: one started member of the two there would be.
		{"add without a quorum started", actors.MemberAdd, actors.Member{PeerURLs: []string{u2}}, http.StatusInternalServerError, "Internal Server Error"},
	}
	for _, c := range refusals {
		if got := m.change(c.kind, c.mb); got.Status != c.status || got.Message != c.msg {
			t.Errorf("%s: %d %q, want %d %q", c.name, got.Status, got.Message, c.status, c.msg)
		}
	}
	m.stop()

	m = startMember(t, sys, cfg)
	m.membersBecome([]actors.Member{updated})
	// Past a few snapshots: the entries of the changes are compacted away.
	for i := 0; i < 40; i++ {
		await(t, m.propose("/k").Done)
	}
	m.stop()
	m = startMember(t, sys, cfg)
	// The tree starts from a snapshot past the changes (which the image
	// carries), not from the log that held them.
	if r, ok := m.next().(*actors.Restore); !ok || r.Index < 20 || !bytes.HasPrefix(r.Data, []byte("snap@")) {
		t.Fatalf("restart: %+v", r)
	}
	m.membersBecome([]actors.Member{updated})
	m.stop()
}

// Without the strict check a member is added under an id derived from its
// peer URLs, the token and the time, as etcd's; a second add of the same URLs
// is refused.
func TestMemberAddDerivesTheID(t *testing.T) {
	sys := newSystem(t)
	self := actors.Member{ID: 1, Name: "one", PeerURLs: []string{u1}}
	m := startMember(t, sys, Config{ID: 1, DataDir: t.TempDir(), TickInterval: 5 * time.Millisecond,
		Members: []actors.Member{self}, ClusterToken: "tok"})
	m.membersBecome([]actors.Member{self})
	before := time.Now().Unix()
	got := m.change(actors.MemberAdd, actors.Member{PeerURLs: []string{u2}})
	after := time.Now().Unix()
	if got.Status != 0 {
		t.Fatalf("add: %+v", got)
	}
	ok := false
	for at := before; at <= after; at++ {
		ok = ok || got.Member.ID == actors.NewMemberID([]string{u2}, "tok", at)
	}
	if !ok || !reflect.DeepEqual(got.Member.PeerURLs, []string{u2}) || got.Member.Name != "" {
		t.Fatalf("added %+v", got.Member)
	}
	want := []actors.Member{self, got.Member}
	if want[1].ID < want[0].ID {
		want[0], want[1] = want[1], want[0]
	}
	m.membersBecome(want)
	// Two voters now, one of them never started: nothing commits any more,
	// but the refusal comes from the membership at once.
	overlap := []string{u2, "http://127.0.0.1:2481"}
	if again := m.change(actors.MemberAdd, actors.Member{PeerURLs: overlap}); again.Status != http.StatusConflict || again.Message != actors.ErrMemberPeerURLExists {
		t.Fatalf("second add: %+v", again)
	}
	m.stop()
}

func TestSnapshotImageCarriesTheMembership(t *testing.T) {
	mem := membership{Members: []actors.Member{{ID: 1, Name: "a", PeerURLs: []string{u1}}, {ID: 9, PeerURLs: []string{u2}}}, Removed: []uint64{4}}
	img := append(imagePrefix(mem), "tree"...)
	got, tree, ok, err := splitImage(img)
	if err != nil || !ok || !reflect.DeepEqual(got, mem) || string(tree) != "tree" {
		t.Fatalf("split: %+v %q %v %v", got, tree, ok, err)
	}
	// An image of an older build is the tree's alone.
	if _, tree, ok, err := splitImage([]byte("v2tree...")); err != nil || ok || string(tree) != "v2tree..." {
		t.Fatalf("legacy: %q %v %v", tree, ok, err)
	}
	for _, bad := range [][]byte{[]byte(imageMagic), append([]byte(imageMagic), 200), bytes.Replace(img, []byte(`"members"`), []byte(`"members":`), 1)} {
		if _, _, _, err := splitImage(bad); err != errBadImage {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMembershipValues(t *testing.T) {
	var m membership
	m = m.with(actors.Member{ID: 5, PeerURLs: []string{u1}})
	m = m.with(actors.Member{ID: 2, PeerURLs: []string{u2}})
	m = m.with(actors.Member{ID: 5, Name: "five", PeerURLs: []string{u1b}})
	if len(m.Members) != 2 || m.Members[0].ID != 2 || m.Members[1].Name != "five" {
		t.Fatalf("%+v", m)
	}
	if !m.peerURLTaken([]string{u1b}, 2) || m.peerURLTaken([]string{u1b}, 5) || m.peerURLTaken([]string{u1}, 0) {
		t.Fatal("peerURLTaken")
	}
	n := m.without(5)
	if _, ok := n.find(5); ok || !n.isRemoved(5) || len(m.Members) != 2 || m.isRemoved(5) {
		t.Fatalf("without: %+v from %+v", n, m)
	}
}
