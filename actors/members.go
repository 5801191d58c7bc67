package actors

import (
	"crypto/sha1"
	"encoding/binary"
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
	ErrMemberIDNotFound    = "membership: ID not found"
	ErrMemberIDRemoved     = "membership: ID removed"
)
