package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// What the fault tests share: a load of writes whose every attempt carries a
// value of its own (so an attempt applied twice shows as a value found
// twice), the members' view of who leads, and the check that a cluster that
// went through faults converged on a state holding every acknowledged write
// exactly once.

// attempt is one write tried: a POST of a unique value into the load's
// directory through one member.
type attempt struct {
	member    int
	value     string
	key       string // where it was acknowledged
	call, ret time.Time
	acked     bool
}

type writeLoad struct {
	mu       sync.Mutex
	attempts []attempt
	acks     int
	stop     chan struct{}
	wg       sync.WaitGroup
}

// startWrites runs perMember writers against each of urls, posting into dir
// values that start with tag, until halt; each waits at most timeout for an answer and, on any failure,
// tries again after a short pause with a new value, as a client would.
func startWrites(urls []string, perMember int, dir, tag string, timeout time.Duration) *writeLoad {
	w := &writeLoad{stop: make(chan struct{})}
	for mi, base := range urls {
		for g := 0; g < perMember; g++ {
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				c := &http.Client{Timeout: timeout}
				defer c.CloseIdleConnections()
				end := time.Now().Add(3 * time.Minute) // a bound if halt is never called
				for n := 0; n < 200000 && time.Now().Before(end); n++ {
					select {
					case <-w.stop:
						return
					default:
					}
					a := attempt{member: mi, value: fmt.Sprintf("%s-m%d-g%d-%d", tag, mi, g, n), call: time.Now()}
					code, ev, err := post(c, base, dir, a.value)
					a.ret = time.Now()
					a.acked = err == nil && code == 201 && ev.Node != nil && ev.Node.Value == a.value &&
						strings.HasPrefix(ev.Node.Key, dir+"/")
					if a.acked {
						a.key = ev.Node.Key
					}
					w.mu.Lock()
					w.attempts = append(w.attempts, a)
					if a.acked {
						w.acks++
					}
					w.mu.Unlock()
					if !a.acked {
						time.Sleep(20 * time.Millisecond)
					}
				}
			}()
		}
	}
	return w
}

// halt stops the writers and returns every attempt.
func (w *writeLoad) halt() []attempt {
	close(w.stop)
	w.wg.Wait()
	return w.attempts
}

// ackedSince counts the acknowledgments of writes sent after since through
// one of members.
func (w *writeLoad) ackedSince(since time.Time, members ...int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.attempts {
		if a.acked && a.call.After(since) && containsInt(members, a.member) {
			n++
		}
	}
	return n
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// waitAcks waits until the load has n acknowledged writes.
func waitAcks(t *testing.T, w *writeLoad, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		w.mu.Lock()
		acks, tries := w.acks, len(w.attempts)
		w.mu.Unlock()
		if acks >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d writes acknowledged in %v", acks, tries, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func post(c *http.Client, base, dir, value string) (int, *eventJSON, error) {
	return eventOf(c.PostForm(base+"/v2/keys"+dir, url.Values{"value": {value}}))
}

func urlsOf(ms []*member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.url)
	}
	return out
}

// selfStats is what a member says of itself on /v2/stats/self.
type selfStats struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	LeaderInfo struct {
		Leader string `json:"leader"`
	} `json:"leaderInfo"`
}

var statsClient = &http.Client{Timeout: time.Second}

func selfOf(base string) (selfStats, error) {
	var s selfStats
	resp, err := statsClient.Get(base + "/v2/stats/self")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return s, fmt.Errorf("stats/self: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// waitLeader waits until exactly one of among says it leads and all of them
// name it their leader; it returns that member.
func waitLeader(t *testing.T, among []*member, within time.Duration) *member {
	t.Helper()
	deadline := time.Now().Add(within)
	var last []string
	for {
		var leader *member
		leaders, agree := 0, true
		last = last[:0]
		var lead string
		for i, m := range among {
			s, err := selfOf(m.url)
			last = append(last, fmt.Sprintf("%s: %s lead=%s %v", m.name, s.State, s.LeaderInfo.Leader, err))
			if err != nil {
				agree = false
				continue
			}
			if s.State == "StateLeader" {
				leaders++
				leader = m
			}
			if i == 0 {
				lead = s.LeaderInfo.Leader
			} else if s.LeaderInfo.Leader != lead {
				agree = false
			}
		}
		if leaders == 1 && agree {
			return leader
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single agreed leader within %v: %s\n%s", within, strings.Join(last, "; "), leadershipLogs(among))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leadershipLogs is, for each member, its ports, whether its process still
// runs, and the last of its log lines about raft state, peer streams and
// start-up failures: what explains a cluster that does not agree on a leader.
func leadershipLogs(ms []*member) string {
	var b strings.Builder
	for _, m := range ms {
		state := "running"
		if m.cmd.ProcessState != nil {
			state = m.cmd.ProcessState.String()
		}
		fmt.Fprintf(&b, "--- %s (client %d, peer %d, advertised peer %d, %s):\n", m.name, m.client, m.peer, m.advPeer, state)
		var lines []string
		for _, l := range strings.Split(m.logs.String(), "\n") {
			for _, w := range []string{"raft state changed", "stream", "cannot start", "address already in use", "failed"} {
				if strings.Contains(l, w) {
					lines = append(lines, l)
					break
				}
			}
		}
		b.WriteString(tail(strings.Join(lines, "\n"), 25))
		b.WriteString("\n")
	}
	return b.String()
}

// dirView is one member's local (non-quorum) view of a directory.
type dirView struct {
	index uint64            // X-Etcd-Index
	nodes map[string]string // key -> value
}

func listDir(c *http.Client, base, dir string) (dirView, error) {
	l := dirView{nodes: map[string]string{}}
	resp, err := c.Get(base + "/v2/keys" + dir + "?recursive=true")
	if err != nil {
		return l, err
	}
	defer resp.Body.Close()
	l.index, _ = strconv.ParseUint(resp.Header.Get("X-Etcd-Index"), 10, 64)
	if resp.StatusCode == 404 {
		return l, nil
	}
	var body struct {
		Node struct {
			Nodes []nodeJSON `json:"nodes"`
		} `json:"node"`
	}
	if resp.StatusCode != 200 {
		return l, fmt.Errorf("GET %s: %s", dir, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return l, err
	}
	for _, n := range body.Node.Nodes {
		l.nodes[n.Key] = n.Value
	}
	return l, nil
}

// converge writes a barrier through the cluster, then waits until every
// member has applied it and all list dir alike; it returns that dirView.
func converge(t *testing.T, ms []*member, dir string) dirView {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	var barrier uint64
	for i := 0; barrier == 0; i++ {
		code, ev, err := put(c, ms[i%len(ms)].url, "/barrier", fmt.Sprint(i), nil)
		if err == nil && (code == 200 || code == 201) && ev.Node != nil {
			barrier = ev.Node.ModifiedIndex
		} else if time.Now().After(deadline) {
			t.Fatalf("no barrier write taken in 30 s: %d %v", code, err)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	for {
		ls := make([]dirView, len(ms))
		same := true
		var why string
		for i, m := range ms {
			l, err := listDir(c, m.url, dir)
			ls[i] = l
			switch {
			case err != nil:
				same, why = false, fmt.Sprintf("%s: %v", m.name, err)
			case l.index < barrier:
				same, why = false, fmt.Sprintf("%s at index %d, barrier %d", m.name, l.index, barrier)
			case i > 0 && !sameNodes(l.nodes, ls[0].nodes):
				same, why = false, fmt.Sprintf("%s lists %d keys, %s %d", m.name, len(l.nodes), ms[0].name, len(ls[0].nodes))
			}
		}
		if same {
			return ls[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("members did not converge within 30 s: %s", why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sameNodes(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkAttempts fails unless l holds every acknowledged attempt at the key
// it was acknowledged at, no value twice, and nothing nobody tried. It
// returns how many were acknowledged and how many applied without one.
func checkAttempts(t *testing.T, l dirView, attempts []attempt) (acked, unacked int) {
	t.Helper()
	where := map[string][]string{}
	for k, v := range l.nodes {
		where[v] = append(where[v], k)
	}
	tried := map[string]bool{}
	for _, a := range attempts {
		tried[a.value] = true
		keys := where[a.value]
		sort.Strings(keys)
		switch {
		case len(keys) > 1:
			t.Errorf("write %q (acknowledged %v) applied %d times: %v", a.value, a.acked, len(keys), keys)
		case a.acked && len(keys) == 0:
			t.Errorf("acknowledged write %q at %s (member %d, %v) lost", a.value, a.key, a.member, a.ret.Format(time.StampMilli))
		case a.acked && keys[0] != a.key:
			t.Errorf("acknowledged write %q at %s, found at %s", a.value, a.key, keys[0])
		case a.acked:
			acked++
		case len(keys) == 1:
			unacked++
		}
	}
	for v, keys := range where {
		if !tried[v] {
			t.Errorf("value %q at %v was never written", v, keys)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return acked, unacked
}
