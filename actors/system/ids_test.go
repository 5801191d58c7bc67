package system

import (
	"strconv"
	"testing"
)

// The reference etcd started by shared/refetcd/start.sh on client port 34001
// (name ref, peer http://127.0.0.1:34002, default token) reports these ids.
func TestIDsMatchEtcd(t *testing.T) {
	id := MemberID([]string{"http://127.0.0.1:34002"}, "etcd-cluster")
	if got := strconv.FormatUint(id, 16); got != "a3de47322c8e4fb8" {
		t.Fatalf("member id %s, want a3de47322c8e4fb8", got)
	}
	if got := strconv.FormatUint(ClusterID([]uint64{id}), 16); got != "b79d3ebec5fa26c3" {
		t.Fatalf("cluster id %s, want b79d3ebec5fa26c3", got)
	}
}
