package main

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

// A port freePort chose may be taken by another process before the member
// binds it. The member's start notices (the process says "bind: address
// already in use" and exits) and starts it again: on a new client port, or
// a new peer port behind its proxy, since nobody knows those yet.
func TestMemberStartMovesOffATakenPort(t *testing.T) {
	for _, c := range []struct {
		name  string
		taken func(m *member) *int
	}{
		{"client", func(m *member) *int { return &m.client }},
		{"peer behind a proxy", func(m *member) *int { return &m.peer }},
	} {
		t.Run(c.name, func(t *testing.T) {
			other := listenFresh(t) // another process's listener
			defer other.Close()
			fn := newFaultNet()
			m := &member{name: "m0", dir: filepath.Join(t.TempDir(), "0"), client: freePort(t), peer: freePort(t)}
			p := c.taken(m)
			*p = other.Addr().(*net.TCPAddr).Port
			m.advPeer, m.net = fn.proxy(t, fmt.Sprintf("127.0.0.1:%d", m.peer)), fn
			m.start(t, fmt.Sprintf("m0=http://127.0.0.1:%d", m.advPeer))
			m.waitHealthy(t)
			if *p == other.Addr().(*net.TCPAddr).Port {
				t.Fatalf("the member kept the taken port %d", *p)
			}
			s, err := selfOf(m.url)
			if err != nil || s.State != "StateLeader" || s.LeaderInfo.Leader != s.ID {
				t.Fatalf("the moved member: %+v %v", s, err)
			}
			// The proxy forwards to where the peer listener is now.
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/members", m.advPeer))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET /members through the proxy: %v %v", resp, err)
			}
			resp.Body.Close()
		})
	}
}
