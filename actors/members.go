package actors

import (
	"crypto/sha1"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Member is one member of the cluster as /v2/members shows it. A Member
// handed out in a Status is shared: never change it, or its slices.
type Member struct {
	ID         uint64   `json:"id"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"peerURLs,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
}

// NewMemberID derives a member's id as etcd does: the first 8 bytes of the
// SHA-1 of its sorted peer URLs joined, the cluster token and, for a member
// added at runtime, the unix second it was added (addedAt 0: a member of
// the initial cluster).
func NewMemberID(peerURLs []string, token string, addedAt int64) uint64 {
	urls := slices.Clone(peerURLs)
	slices.Sort(urls)
	b := []byte(strings.Join(urls, "") + token)
	if addedAt != 0 {
		b = strconv.AppendInt(b, addedAt, 10)
	}
	sum := sha1.Sum(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// MemberChangeKind says what a MemberChange asks for.
type MemberChangeKind uint8

const (
	MemberAdd    MemberChangeKind = iota + 1 // Member.PeerURLs join; the id is derived
	MemberRemove                             // Member.ID leaves for good
	MemberUpdate                             // Member.ID's peer URLs become Member.PeerURLs
)

// MemberChange (httpfront → raftactor) asks for a change of membership
// through raft, one at a time. The answer comes on Done once the change is
// applied on this member (Member then is the member as changed), or refused:
// Status is the HTTP status etcd answers and Message its text.
type MemberChange struct {
	Kind    MemberChangeKind
	Member  Member
	Status  int // 0: done
	Message string
	Done    chan *MemberChange
}

// The refusals of a change, in etcd's words.
const (
	ErrMemberIDExists      = "membership: ID exists"
	ErrMemberPeerURLExists = "membership: peerURL exists"
)

// FollowerStats are the leader's figures of one follower, as etcd's
// /v2/stats/leader shows them: latencies in milliseconds.
type FollowerStats struct {
	ID                       uint64
	Current, Average, StdDev float64
	Minimum, Maximum         float64
	averageSquare            float64
	Fail, Success            uint64
}

// NewFollowerStats are etcd's initial figures: no measurement yet.
func NewFollowerStats(id uint64) FollowerStats {
	return FollowerStats{ID: id, Minimum: 1 << 63}
}

// Succ records one append acknowledged after d nanoseconds (etcd's Succ).
func (f *FollowerStats) Succ(d int64) {
	n := float64(f.Success)
	total, totalSquare := n*f.Average, n*f.averageSquare
	f.Success++
	f.Current = float64(d) / 1e6
	f.Maximum = max(f.Maximum, f.Current)
	f.Minimum = min(f.Minimum, f.Current)
	f.Average = (total + f.Current) / float64(f.Success)
	f.averageSquare = (totalSquare + f.Current*f.Current) / float64(f.Success)
	f.StdDev = math.Sqrt(max(0, f.averageSquare-f.Average*f.Average))
}
