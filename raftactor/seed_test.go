package raftactor

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdv2/server/actors"
)

// A seeded log opens as a restarted member's after a snapshot: the tree is
// restored from the image at the seed's index, the membership is the seed's,
// and the member's first proposal comes right after the snapshot and the
// new term's empty entry.
func TestSeededLogStartsFromItsSnapshot(t *testing.T) {
	dir := t.TempDir()
	members := []actors.Member{{ID: 9, Name: "b", PeerURLs: []string{"http://127.0.0.1:2"}}, {ID: 7, Name: "a", PeerURLs: []string{"http://127.0.0.1:1"}}}
	if err := WriteSeed(filepath.Join(dir, "member"), Seed{Index: 40, Term: 1, Members: members[1:], Tree: []byte("tree image")}); err != nil {
		t.Fatal(err)
	}
	l, st, err := openLogStore(filepath.Join(dir, "member"), 0)
	if err != nil {
		t.Fatal(err)
	}
	l.close()
	md := st.snapshot.GetMetadata()
	mem, tree, ok, err := splitImage(st.snapshot.GetData())
	if md.GetIndex() != 40 || md.GetTerm() != 1 || fmt.Sprint(md.GetConfState().GetVoters()) != "[7]" || !ok || err != nil ||
		string(tree) != "tree image" || len(mem.Members) != 1 || mem.Members[0].Name != "a" || st.hardState.GetCommit() != 40 || len(st.entries) != 0 {
		t.Fatalf("seeded log: snapshot %v, members %+v, tree %q, hard state %v, %d entries", md, mem, tree, st.hardState, len(st.entries))
	}

	sys := newSystem(t)
	m := startMember(t, sys, Config{ID: 7, DataDir: dir})
	r, ok := m.next().(*actors.Restore)
	if !ok || r.Index != 40 || r.Term != 1 || string(r.Data) != "tree image" || r.ServeAt != 40 {
		t.Fatalf("first message to the tree: %#v, want the seed's Restore", r)
	}
	p := await(t, m.propose("/after").Done)
	if p.Err != nil || p.RaftIndex != 42 || p.RaftTerm != 2 {
		t.Fatalf("first proposal: %d/%d %v, want index 42 (41 is the election's) in term 2", p.RaftIndex, p.RaftTerm, p.Err)
	}
	if st := m.status(); len(st.Members) != 1 || st.Members[0].Name != "a" {
		t.Fatalf("membership %+v", st.Members)
	}
	m.stop()

	// A member dir that holds a log is never seeded over.
	err = WriteSeed(filepath.Join(dir, "member"), Seed{Index: 1, Term: 1, Members: members, Tree: nil})
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("seeding over a log: %v", err)
	}
	if err := WriteSeed(t.TempDir(), Seed{Index: 1, Term: 1, Members: []actors.Member{members[0], members[0]}}); err == nil {
		t.Fatal("a seed that lists a member twice was written")
	}
}
