package raftactor

// The membership: who the members are, by id, with their names and URLs.
// raft knows only the ids of its voters; the rest is replicated beside them
// (a conf change's context carries the member it adds or updates; a member
// publishes its name and client URLs in a normal entry of its own) and kept
// here, the one owner, applied in log order with the conf changes so that
// every member agrees at every index. A snapshot carries the membership at
// its index in front of the tree's image (see image.go).

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/etcdv2/server/actors"
)

// membership is the members as applied at one index. It is replaced on each
// change, never modified, so a Status may hand it out.
type membership struct {
	Members []actors.Member `json:"members"` // sorted by id
	Removed []uint64        `json:"removed,omitempty"`
}

func (m membership) find(id uint64) (actors.Member, bool) {
	i, ok := slices.BinarySearchFunc(m.Members, id, func(a actors.Member, id uint64) int { return cmp.Compare(a.ID, id) })
	if !ok {
		return actors.Member{}, false
	}
	return m.Members[i], true
}

func (m membership) isRemoved(id uint64) bool {
	_, ok := slices.BinarySearch(m.Removed, id)
	return ok
}

// peerURLTaken reports whether a member other than except has one of urls.
func (m membership) peerURLTaken(urls []string, except uint64) bool {
	for _, mb := range m.Members {
		if mb.ID == except {
			continue
		}
		for _, u := range mb.PeerURLs {
			if slices.Contains(urls, u) {
				return true
			}
		}
	}
	return false
}

// with is m with mb added or replaced.
func (m membership) with(mb actors.Member) membership {
	out := membership{Members: make([]actors.Member, 0, len(m.Members)+1), Removed: m.Removed}
	placed := false
	for _, old := range m.Members {
		if !placed && old.ID >= mb.ID {
			out.Members = append(out.Members, mb)
			placed = true
			if old.ID == mb.ID {
				continue
			}
		}
		out.Members = append(out.Members, old)
	}
	if !placed {
		out.Members = append(out.Members, mb)
	}
	return out
}

// without is m with id removed for good.
func (m membership) without(id uint64) membership {
	out := membership{Removed: slices.Clone(m.Removed)}
	for _, old := range m.Members {
		if old.ID != id {
			out.Members = append(out.Members, old)
		}
	}
	if i, found := slices.BinarySearch(out.Removed, id); !found {
		out.Removed = slices.Insert(out.Removed, i, id)
	}
	return out
}

// memberContext is what a conf change carries: the member it adds or
// updates and the request waiting for it (0: nobody, as at bootstrap).
type memberContext struct {
	ReqID  uint64        `json:"req,omitempty"`
	Member actors.Member `json:"member"`
}

func encodeContext(c memberContext) []byte {
	b, _ := json.Marshal(c) // plain structs of strings and numbers: never fails
	return b
}

// decodeContext reads a conf change's context. An empty one (a log written
// before members were replicated) names the member by its id alone.
func decodeContext(data []byte, id uint64) (memberContext, error) {
	c := memberContext{Member: actors.Member{ID: id}}
	if len(data) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, err
	}
	c.Member.ID = id
	return c, nil
}

// A member's published attributes ride in a normal entry tagged OpPublish,
// a tag the tree never sees: [tag, 0, uvarint 0, JSON of the member].
func encodePublish(mb actors.Member) []byte {
	b := []byte{byte(actors.OpPublish), 0, 0}
	js, _ := json.Marshal(actors.Member{ID: mb.ID, Name: mb.Name, ClientURLs: mb.ClientURLs})
	return append(b, js...)
}

func isPublish(data []byte) bool { return len(data) > 0 && data[0] == byte(actors.OpPublish) }

func decodePublish(data []byte) (actors.Member, error) {
	var mb actors.Member
	if len(data) < 3 {
		return mb, actors.ErrShortCommand
	}
	err := json.Unmarshal(data[3:], &mb)
	return mb, err
}
