package raftactor

import "time"

// reqIDs hands out proposal request ids that stay unique across restarts and
// across members: the top 16 bits are the member id, the low 48 bits start at
// the start time in milliseconds (40 bits) shifted past an 8-bit counter, and
// count up from there. A restart therefore starts above everything the last
// run handed out unless it issued more than 256 ids per millisecond for the
// whole run; bumpPast covers that case from the ids found in the log.
type reqIDs struct {
	prefix uint64
	next   uint64 // low 48 bits of the next id
}

const (
	reqIDCounterBits = 8
	reqIDTimeBits    = 40
	reqIDLowBits     = reqIDCounterBits + reqIDTimeBits
	reqIDLowMask     = 1<<reqIDLowBits - 1
)

func newReqIDs(member uint64, now time.Time) reqIDs {
	ms := uint64(now.UnixMilli()) & (1<<reqIDTimeBits - 1)
	return reqIDs{prefix: member << reqIDLowBits, next: ms << reqIDCounterBits}
}

func (g *reqIDs) take() uint64 {
	id := g.prefix | g.next&reqIDLowMask
	g.next++
	if id == 0 { // 0 means "no waiter"
		return g.take()
	}
	return id
}

// bumpPast makes sure no later id equals id, if id is one of ours.
func (g *reqIDs) bumpPast(id uint64) {
	if id&^reqIDLowMask != g.prefix {
		return
	}
	if low := id & reqIDLowMask; low >= g.next {
		g.next = low + 1
	}
}
