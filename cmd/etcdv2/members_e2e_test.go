package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type memberJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

func listMembers(t *testing.T, url string) []memberJSON {
	t.Helper()
	resp, err := http.Get(url + "/v2/members")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Members []memberJSON }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v2/members: %d %v", resp.StatusCode, err)
	}
	return out.Members
}

// membersAre waits (boundedly) until every one of urls lists want, as
// "name client-url" per member in id order.
func membersAre(t *testing.T, want []string, urls ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, u := range urls {
		for {
			var got []string
			for _, m := range listMembers(t, u) {
				got = append(got, m.Name+" "+strings.Join(m.ClientURLs, ","))
			}
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lists %q, want %q", u, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func memberRequest(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Every member lists every member with the client URLs it published; a
// member added at runtime joins with --initial-cluster-state existing and
// catches up; a member removed at runtime stops with etcd's message; the
// leader's stats count its followers' appends.
func TestClusterMembershipAtRuntime(t *testing.T) {
	ms := startCluster(t, 3)
	names := func(ms ...*member) []string {
		type nm struct {
			id uint64
			s  string
		}
		var out []nm
		for _, m := range ms {
			var self struct{ ID string }
			resp, err := http.Get(m.url + "/v2/stats/self")
			if err != nil {
				t.Fatal(err)
			}
			json.NewDecoder(resp.Body).Decode(&self)
			resp.Body.Close()
			id, err := strconv.ParseUint(self.ID, 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, nm{id, m.name + " " + m.url})
		}
		slices.SortFunc(out, func(a, b nm) int { return cmp.Compare(a.id, b.id) })
		var s []string
		for _, o := range out {
			s = append(s, o.s)
		}
		return s
	}
	membersAre(t, names(ms...), ms[0].url, ms[1].url, ms[2].url)
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 20 {
		if code, _, err := put(c, ms[i%3].url, fmt.Sprintf("/before/%d", i), "v", nil); err != nil || code != 201 {
			t.Fatalf("put: %d %v", code, err)
		}
	}

	// etcd's strict check wants the members connected for 5 s first.
	time.Sleep(5 * time.Second)
	d := &member{name: "d", dir: filepath.Join(t.TempDir(), "d"), client: freePort(t), peer: freePort(t)}
	dPeer := fmt.Sprintf("http://127.0.0.1:%d", d.peer)
	code, body := memberRequest(t, "POST", ms[1].url+"/v2/members", `{"peerURLs":["`+dPeer+`"]}`)
	var added memberJSON
	if err := json.Unmarshal([]byte(body), &added); code != 201 || err != nil || added.ID == "" || !slices.Equal(added.PeerURLs, []string{dPeer}) || added.Name != "" || added.ClientURLs == nil {
		t.Fatalf("add: %d %s", code, body)
	}
	// Another URL beside it, so that the id differs even within the second.
	if code, body := memberRequest(t, "POST", ms[2].url+"/v2/members", `{"peerURLs":["`+dPeer+`","http://127.0.0.1:1"]}`); code != 409 || body != `{"message":"membership: peerURL exists"}` {
		t.Fatalf("add again: %d %s", code, body)
	}
	var spec []string
	for _, m := range append(slices.Clone(ms), d) {
		spec = append(spec, fmt.Sprintf("%s=http://127.0.0.1:%d", m.name, m.peer))
	}
	cu := fmt.Sprintf("http://127.0.0.1:%d", d.client)
	cmd := exec.Command(binPath, "--name", "d", "--data-dir", d.dir, "--log-level", "warn",
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", dPeer, "--initial-advertise-peer-urls", dPeer,
		"--initial-cluster", strings.Join(spec, ","), "--initial-cluster-state", "existing",
		"--initial-cluster-token", "e2e-cluster", "--heartbeat-interval", "50", "--election-timeout", "500")
	logs := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.server = &server{cmd: cmd, url: cu, addr: fmt.Sprintf("127.0.0.1:%d", d.client), logs: logs}
	t.Cleanup(d.server.kill)
	d.waitHealthy(t)
	all := append(slices.Clone(ms), d)
	membersAre(t, names(all...), ms[0].url, d.url)
	// The new member has what was written before it joined.
	for i := range 20 {
		if code, ev := get(t, d.url, fmt.Sprintf("/before/%d", i)); code != 200 || ev.Node.Value != "v" {
			t.Fatalf("joined member: /before/%d: %d", i, code)
		}
	}

	var leader *member
	for _, m := range all {
		if m.state(t) == "StateLeader" {
			leader = m
		}
	}
	code, body = memberRequest(t, "GET", leader.url+"/v2/stats/leader", "")
	var ls struct {
		Followers map[string]struct {
			Counts struct{ Success, Fail int }
		}
	}
	if err := json.Unmarshal([]byte(body), &ls); code != 200 || err != nil || len(ls.Followers) != 3 {
		t.Fatalf("leader stats: %d %s", code, body)
	}
	for id, f := range ls.Followers {
		if f.Counts.Success == 0 {
			t.Fatalf("no appends counted for %s: %s", id, body)
		}
	}

	// Remove a follower that is not d; it stops by itself.
	var gone *member
	for _, m := range ms {
		if m != leader {
			gone = m
		}
	}
	var goneID string
	for _, m := range listMembers(t, leader.url) {
		if m.Name == gone.name {
			goneID = m.ID
		}
	}
	// Asked of the leader: a member connected for less than 5 s (d) would
	// refuse it under the strict check.
	if code, body := memberRequest(t, "DELETE", leader.url+"/v2/members/"+goneID, ""); code != 204 || body != "" {
		t.Fatalf("remove: %d %s", code, body)
	}
	// Again on the leader, which has applied the removal before its 204.
	if code, body := memberRequest(t, "DELETE", leader.url+"/v2/members/"+goneID, ""); code != 410 || body != `{"message":"Member permanently removed: `+goneID+`"}` {
		t.Fatalf("remove again: %d %s", code, body)
	}
	exited := make(chan error, 1)
	go func() { exited <- gone.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("the removed member still runs; logs:\n%s", gone.logs.String())
	}
	if !strings.Contains(gone.logs.String(), "the member has been permanently removed from the cluster") {
		t.Fatalf("the removed member did not say why it stopped:\n%s", gone.logs.String())
	}
	var rest []*member
	for _, m := range all {
		if m != gone {
			rest = append(rest, m)
		}
	}
	membersAre(t, names(rest...), rest[0].url, rest[1].url, rest[2].url)
	if code, _, err := put(c, d.url, "/after", "v", nil); err != nil || code != 201 {
		t.Fatalf("put after the changes: %d %v", code, err)
	}
}
