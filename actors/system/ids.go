package system

import (
	"crypto/sha1"
	"encoding/binary"
	"sort"

	"github.com/etcdv2/server/actors"
)

// MemberID derives the id of a member of the initial cluster as etcd does,
// so ids and the cluster id match what etcd would print for the same flags.
func MemberID(peerURLs []string, token string) uint64 {
	return actors.NewMemberID(peerURLs, token, 0)
}

// ClusterID derives the cluster id from the member ids as etcd does: the first
// 8 bytes of the SHA-1 of the sorted ids, each 8 bytes big-endian.
func ClusterID(memberIDs []uint64) uint64 {
	ids := append([]uint64(nil), memberIDs...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.BigEndian.PutUint64(b[8*i:], id)
	}
	sum := sha1.Sum(b)
	return binary.BigEndian.Uint64(sum[:8])
}
