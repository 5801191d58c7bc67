package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newMembers makes n members of one cluster (ports and data dirs, nothing
// started) and the --initial-cluster that lists them.
func newMembers(t *testing.T, n int) ([]*member, string) {
	t.Helper()
	root := t.TempDir()
	ms := make([]*member, n)
	var spec []string
	for i := range ms {
		ms[i] = &member{name: fmt.Sprintf("m%d", i), dir: filepath.Join(root, fmt.Sprint(i)), client: freePort(t), peer: freePort(t)}
		spec = append(spec, fmt.Sprintf("%s=http://127.0.0.1:%d", ms[i].name, ms[i].peer))
	}
	return ms, strings.Join(spec, ",")
}

func specOf(ms []*member) string {
	var spec []string
	for _, m := range ms {
		spec = append(spec, fmt.Sprintf("%s=http://127.0.0.1:%d", m.name, m.peer))
	}
	return strings.Join(spec, ",")
}

// writeKeys writes n new keys under prefix, spread over the members, and
// returns them.
func writeKeys(t *testing.T, ms []*member, prefix string, n int) map[string]string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	want := map[string]string{}
	for i := range n {
		m := ms[i%len(ms)]
		key, value := fmt.Sprintf("%s/k%d", prefix, i), fmt.Sprintf("v%d on %s", i, m.name)
		if code, ev, err := put(c, m.url, key, value, nil); err != nil || code != 201 || ev.Node.Value != value {
			t.Fatalf("put %s on %s: %d %+v %v", key, m.name, code, ev, err)
		}
		want[key] = value
	}
	return want
}

// checkKeys reads each key on m linearizably: a plain read may come before
// m applied a write acknowledged by another member.
func checkKeys(t *testing.T, m *member, want map[string]string) {
	t.Helper()
	for key, value := range want {
		if code, ev := quorumGet(t, m, key); code != 200 || ev.Node == nil || ev.Node.Value != value {
			t.Fatalf("%s on %s: %d %+v, want %q", key, m.name, code, ev, value)
		}
	}
}

// memberIDs lists the ids /v2/members shows on m.
func memberIDs(t *testing.T, m *member) []string {
	t.Helper()
	resp, err := http.Get(m.url + "/v2/members")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Members []struct {
			ID string `json:"id"`
		} `json:"members"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, mb := range list.Members {
		ids = append(ids, mb.ID)
	}
	return ids
}

// A member listed in --initial-cluster that starts later, on an empty data
// dir, with --initial-cluster-state existing learns the cluster from the
// others' peer URLs, does not bootstrap a log of its own, and catches up from
// the leader: it has what was written before, and takes writes.
func TestJoinExistingCatchesUpFromTheLeader(t *testing.T) {
	ms, spec := newMembers(t, 3)
	for _, m := range ms[:2] {
		m.start(t, spec)
	}
	for _, m := range ms[:2] {
		m.waitHealthy(t)
	}
	want := writeKeys(t, ms[:2], "/before", 20)
	late := ms[2]
	late.start(t, spec, "--initial-cluster-state", "existing", "--log-level", "info")
	// Its very first answer already has what was written before it came.
	resp, body, err := firstAnswer(t, late.server, "/v2/keys/before/k19", 20*time.Second)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), `"value":"`+want["/before/k19"]+`"`) {
		t.Fatalf("the late member's first answer: %v %s; logs:\n%s", err, body, late.logs.String())
	}
	late.waitHealthy(t)
	checkKeys(t, late, want)
	if logs := late.logs.String(); !strings.Contains(logs, `"join":true`) || !strings.Contains(logs, `"message":"raft log loaded"`) {
		t.Fatalf("the late member did not join without a bootstrap; logs:\n%s", logs)
	}
	more := writeKeys(t, ms, "/after", 3)
	for _, m := range ms {
		checkKeys(t, m, more)
	}
}

// A member of a cluster that lost the others for good restarts with
// --force-new-cluster as a one-member cluster: it elects itself, has all the
// data, takes writes, lists itself alone; and so it stays on a restart
// without the flag.
func TestForceNewClusterServesAlone(t *testing.T) {
	ms := startCluster(t, 3)
	want := writeKeys(t, ms, "/before", 30)
	for _, m := range ms {
		m.stop(t)
	}
	spec := specOf(ms)
	s := ms[1]
	s.start(t, spec, "--force-new-cluster")
	s.waitHealthy(t)
	checkKeys(t, s, want)
	if st := s.state(t); st != "StateLeader" {
		t.Fatalf("forced member is %q, want the leader", st)
	}
	for key, value := range writeKeys(t, []*member{s}, "/alone", 40) {
		want[key] = value
	}
	ids := memberIDs(t, s)
	if len(ids) != 1 {
		t.Fatalf("/v2/members lists %v, want the forced member alone", ids)
	}
	s.stop(t)
	s.start(t, spec)
	if !waitState(t, s, "StateLeader", 10*time.Second) {
		t.Fatalf("restarted without the flag, the member is %q; logs:\n%s", s.state(t), s.logs.String())
	}
	checkKeys(t, s, want)
}

// waitState waits up to d for m to report state.
func waitState(t *testing.T, m *member, state string, d time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m.state(t) == state {
			return true
		}
	}
	return false
}
