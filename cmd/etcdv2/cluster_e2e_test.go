package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// member is one member of a test cluster: its ports stay the same across
// restarts, as an operator's would.
type member struct {
	name, dir    string
	client, peer int
	advPeer      int       // the peer port the others dial: peer, or its proxy's
	net          *faultNet // the proxy's network, if advPeer is a proxy
	flags        []string  // extra flags, after the defaults (the last one given wins)
	cluster      string    // its --initial-cluster
	*server
}

// clusterOpts changes how startClusterWith starts the members.
type clusterOpts struct {
	flags []string  // extra flags for every member
	net   *faultNet // if set, each member advertises a proxy of net as its peer URL
}

// startCluster starts n members of one new cluster on loopback ports, each
// stopped by its own handle when the test ends, and waits until every one
// is healthy (which needs a leader).
func startCluster(t *testing.T, n int) []*member {
	t.Helper()
	return startClusterWith(t, n, clusterOpts{})
}

func startClusterWith(t *testing.T, n int, o clusterOpts) []*member {
	t.Helper()
	root := t.TempDir()
	ms := make([]*member, n)
	var spec []string
	for i := range ms {
		m := &member{name: fmt.Sprintf("m%d", i), dir: filepath.Join(root, fmt.Sprint(i)), client: freePort(t), peer: freePort(t), flags: o.flags}
		m.advPeer = m.peer
		if o.net != nil {
			m.advPeer = o.net.proxy(t, fmt.Sprintf("127.0.0.1:%d", m.peer))
			m.net = o.net
		}
		ms[i] = m
		spec = append(spec, fmt.Sprintf("%s=http://127.0.0.1:%d", m.name, m.advPeer))
	}
	for _, m := range ms {
		m.start(t, strings.Join(spec, ","))
	}
	for _, m := range ms {
		m.waitHealthy(t)
	}
	// Each URL is answered by its own member: one process behind two URLs
	// looks like a cluster with two leaders that name one.
	seen := map[string]string{}
	for _, m := range ms {
		s, err := selfOf(m.url)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if other, dup := seen[s.ID]; dup {
			t.Fatalf("%s and %s are answered by one member, %s; logs of %s:\n%s", other, m.name, s.ID, m.name, tail(m.logs.String(), 20))
		}
		seen[s.ID] = m.name
	}
	return ms
}

// start starts the member's process with cluster as its --initial-cluster
// (and extra flags after its own); restart starts it again with the one it
// was first started with. It returns once the process listens on both its
// ports, or has exited, or has not bound them in a few seconds (a member
// may ask its peers first). If another process took one of its ports, it
// starts it again: on new ports where that changes nobody's view of it (the
// client port of a member never started, the peer port behind a proxy),
// else on the same ones once they are free again.
func (m *member) start(t *testing.T, cluster string, extra ...string) {
	t.Helper()
	first := m.server == nil
	for try := 1; ; try++ {
		m.launch(t, cluster, extra...)
		busy := waitBound(m.server, 5*time.Second, m.client, m.peer)
		if busy == 0 {
			return
		}
		if try == 10 {
			t.Fatalf("%s: port %d still taken by another process after %d starts; logs:\n%s", m.name, busy, try, tail(m.logs.String(), 20))
		}
		switch {
		case busy == m.client && first:
			m.client = freePort(t)
		case busy == m.peer && m.net != nil:
			m.peer = freePort(t)
			m.net.retarget(m.advPeer, fmt.Sprintf("127.0.0.1:%d", m.peer))
		default:
			time.Sleep(300 * time.Millisecond)
		}
		t.Logf("%s: port %d was taken by another process; starting it again on client %d, peer %d", m.name, busy, m.client, m.peer)
	}
}

func (m *member) launch(t *testing.T, cluster string, extra ...string) {
	t.Helper()
	m.cluster = cluster
	cu := fmt.Sprintf("http://127.0.0.1:%d", m.client)
	pu := fmt.Sprintf("http://127.0.0.1:%d", m.peer)
	adv := pu
	if m.advPeer != 0 {
		adv = fmt.Sprintf("http://127.0.0.1:%d", m.advPeer)
	}
	args := append([]string{"--name", m.name, "--data-dir", m.dir, "--log-level", "warn",
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", adv,
		"--initial-cluster", cluster, "--initial-cluster-token", "e2e-cluster",
		"--heartbeat-interval", "50", "--election-timeout", "500"}, slices.Concat(m.flags, extra)...)
	cmd := exec.Command(binPath, args...)
	logs := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.server = &server{cmd: cmd, url: cu, addr: fmt.Sprintf("127.0.0.1:%d", m.client), logs: logs}
	s := m.server
	t.Cleanup(func() { s.kill() })
}

func (m *member) restart(t *testing.T) {
	t.Helper()
	m.start(t, m.cluster)
}

func (m *member) state(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(m.url + "/v2/stats/self")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, s := range []string{"StateLeader", "StateFollower", "StateCandidate", "StatePreCandidate"} {
		if strings.Contains(string(b), `"state":"`+s+`"`) {
			return s
		}
	}
	return ""
}

// quorumGet reads a key linearizably on a member.
func quorumGet(t *testing.T, m *member, key string) (int, *eventJSON) {
	t.Helper()
	return get(t, m.url, key+"?quorum=true")
}

// A three-member cluster elects one leader; a write on any member is read
// on every member; when the leader is killed (SIGKILL) the others elect a
// new one and take writes within a few election timeouts; the killed member
// restarts, catches up, and every acknowledged write is on every member.
func TestClusterReplicatesAndFailsOver(t *testing.T) {
	ms := startCluster(t, 3)
	leaders := 0
	var leader *member
	for _, m := range ms {
		if m.state(t) == "StateLeader" {
			leaders++
			leader = m
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders", leaders)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	want := map[string]string{}
	for i, m := range ms {
		key, value := fmt.Sprintf("/k%d", i), "written on "+m.name
		if code, ev, err := put(c, m.url, key, value, nil); err != nil || code != 200 && code != 201 || ev.Node.Value != value {
			t.Fatalf("put on %s: %d %+v %v", m.name, code, ev, err)
		}
		want[key] = value
	}
	check := func(when string) {
		t.Helper()
		for _, m := range ms {
			for key, value := range want {
				if code, ev := quorumGet(t, m, key); code != 200 || ev.Node == nil || ev.Node.Value != value {
					t.Fatalf("%s: quorum get %s on %s: %d %+v", when, key, m.name, code, ev)
				}
			}
		}
	}
	check("before the kill")

	leader.cmd.Process.Signal(syscall.SIGKILL)
	leader.cmd.Wait()
	var alive []*member
	for _, m := range ms {
		if m != leader {
			alive = append(alive, m)
		}
	}
	// A write forwarded to the dead leader is lost with it, and is answered
	// only when it times out: the client gives up sooner and tries again,
	// as etcd's clients do.
	retry := &http.Client{Timeout: time.Second}
	start := time.Now()
	for i := 0; ; i++ {
		key, value := "/after", fmt.Sprint("try ", i)
		code, ev, err := put(retry, alive[i%2].url, key, value, nil)
		if err == nil && (code == 200 || code == 201) && ev.Node.Value == value {
			want[key] = value
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no write taken 10 s after the leader was killed: %d %+v %v", code, ev, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("writes resumed %v after the leader was killed", time.Since(start).Round(time.Millisecond))

	var spec []string
	for _, m := range ms {
		spec = append(spec, fmt.Sprintf("%s=http://127.0.0.1:%d", m.name, m.peer))
	}
	leader.start(t, strings.Join(spec, ","))
	leader.waitHealthy(t)
	check("after the restart")
}
