package raftactor

import (
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func appResp(to, term, index uint64, reject bool) *raftpb.Message {
	return &raftpb.Message{Type: raftpb.MsgAppResp.Enum(), To: new(to), Term: new(term), Index: new(index), Reject: new(reject)}
}

// Of the append answers a sync releases, only the last accepting one per
// leader and term goes out; refusals and other messages all do, in order.
func TestLastAppResps(t *testing.T) {
	hb := &raftpb.Message{Type: raftpb.MsgHeartbeatResp.Enum(), To: new(uint64(2)), Term: new(uint64(3))}
	a, b, c := appResp(2, 3, 10, false), appResp(2, 3, 12, false), appResp(2, 3, 15, false)
	refused := appResp(2, 3, 11, true)
	oldTerm := appResp(2, 2, 9, false)
	other := appResp(4, 3, 10, false)
	got := lastAppResps([]*raftpb.Message{oldTerm, a, hb, refused, b, other, c})
	want := []*raftpb.Message{oldTerm, hb, refused, other, c}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d: %v, want %v", i, got[i], want[i])
		}
	}
}
