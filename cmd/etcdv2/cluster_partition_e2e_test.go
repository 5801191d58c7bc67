package main

import (
	"testing"
	"time"
)

// A member cut off from the others must not acknowledge a write, however
// sure it was a moment ago that it leads: it cannot reach a quorum, so
// nothing it takes can be committed. Meanwhile the majority must elect a
// leader of its own and go on, and after the cut heals the two sides must
// agree on one log holding every write either side acknowledged, once.
// The cut is made by the proxies of faultproxy_test.go, between real
// processes.

// The leader is cut off (both directions) while writers keep writing on
// every member, each attempt with a value of its own and a short client
// timeout, retrying on any failure; then, after the heal, a follower is cut
// off the same way. Each time: the majority has a leader and takes writes,
// the member cut off acknowledges nothing sent to it while it is cut off,
// and after the heal it takes writes again. At the end there is exactly one
// leader, and every member holds every acknowledged write exactly once and
// no value twice.
func TestClusterPartitionedMemberAcknowledgesNothing(t *testing.T) {
	fn := newFaultNet()
	ms := startClusterWith(t, 3, clusterOpts{net: fn})
	ids := make([]string, len(ms))
	for i, m := range ms {
		s, err := selfOf(m.url)
		if err != nil || s.ID == "" {
			t.Fatalf("stats/self of %s: %+v %v", m.name, s, err)
		}
		ids[i] = s.ID
	}
	w := startWrites(urlsOf(ms), 2, "/p", "p", time.Second)
	waitAcks(t, w, 200, 20*time.Second)

	type cut struct {
		member     int
		from, to   time.Time
		wasLeader  bool
		triedThere int
	}
	var cuts []cut
	for round, wantLeader := range []bool{true, false} {
		leader := waitLeader(t, ms, 10*time.Second)
		x := -1
		for i, m := range ms {
			if (m == leader) == wantLeader {
				x = i
				break
			}
		}
		var majority []*member
		var rest []int
		for i, m := range ms {
			if i != x {
				majority, rest = append(majority, m), append(rest, i)
			}
		}
		c := cut{member: x, from: time.Now(), wasLeader: wantLeader}
		fn.isolate(ids[x])
		newLeader := waitLeader(t, majority, 10*time.Second)
		t.Logf("round %d: %s (leader: %v) cut off; %s leads the majority %v later",
			round, ms[x].name, wantLeader, newLeader.name, time.Since(c.from).Round(time.Millisecond))
		waitFor(t, 15*time.Second, "the majority to take 100 writes while "+ms[x].name+" is cut off", func() bool {
			return w.ackedSince(c.from, rest...) >= 100
		})
		// Long enough for the writers on the member cut off to time out
		// and try again a few times.
		time.Sleep(3 * time.Second)
		if s, err := selfOf(ms[x].url); err == nil {
			t.Logf("round %d: %s, cut off for %v, says it is %s", round, ms[x].name, time.Since(c.from).Round(time.Millisecond), s.State)
		}
		c.to = time.Now()
		fn.heal()
		// Up to ~6 s: a stream dial that was blackholed is given up only
		// when the transport's answer timer (dial + write timeout) fires,
		// even though the heal closed its connection (net/http's Do waits
		// for the request body's writer, and that waits on the stream's pipe).
		waitFor(t, 15*time.Second, ms[x].name+" to take writes again after the heal", func() bool {
			return w.ackedSince(c.to, x) >= 20
		})
		t.Logf("round %d: healed; %s took 20 writes %v later", round, ms[x].name, time.Since(c.to).Round(time.Millisecond))
		cuts = append(cuts, c)
	}
	attempts := w.halt()

	for i := range cuts {
		c := &cuts[i]
		for _, a := range attempts {
			if a.member != c.member || !a.call.After(c.from) || !a.ret.Before(c.to) {
				continue
			}
			c.triedThere++
			if a.acked {
				t.Errorf("%s acknowledged %q at %s (sent %v after the cut) while cut off",
					ms[c.member].name, a.value, a.key, a.call.Sub(c.from).Round(time.Millisecond))
			}
		}
		if c.triedThere < 2 {
			t.Errorf("only %d writes tried on %s while it was cut off: the test tested nothing", c.triedThere, ms[c.member].name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	leader := waitLeader(t, ms, 10*time.Second)
	start := time.Now()
	l := converge(t, ms, "/p")
	t.Logf("converged in %v", time.Since(start).Round(time.Millisecond))
	acked, unacked := checkAttempts(t, l, attempts)
	closed, refused := fn.counts()
	if refused != 0 {
		t.Fatalf("the proxies saw %d connections that were not raft requests", refused)
	}
	t.Logf("%d attempts, %d acknowledged, all on every member once; %d applied without an acknowledgment; %d and %d tried on the members while cut off; %d connections cut; %s leads",
		len(attempts), acked, unacked, cuts[0].triedThere, cuts[1].triedThere, closed, leader.name)
}

// waitFor polls cond until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
