package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A cluster's promise is that an acknowledged write survives what a single
// member's disk does not see coming: every member losing power at once, and
// a member so far behind that the log it needs is gone and only the
// leader's snapshot can bring it back. These tests make both happen to the
// real binary.

// All three members are killed at once (SIGKILL) under a load of writes on
// every member, then restarted: every acknowledged write is on every member
// exactly once, at the key it was acknowledged at, and a write that was not
// acknowledged is there once or not at all. The restarted cluster takes more
// writes and is killed again. Once with the default snapshot count and once
// with snapshots every 150 entries, so kills land around them.
func TestClusterKilledAtOnceKeepsAcknowledgedWrites(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
	}{{"default", nil}, {"snapshots", []string{"--snapshot-count", "150"}}} {
		t.Run(c.name, func(t *testing.T) {
			ms := startClusterWith(t, 3, clusterOpts{flags: c.flags})
			var attempts []attempt
			var l dirView
			for round := 0; round < 2; round++ {
				w := startWrites(urlsOf(ms), 2, "/q", fmt.Sprint("r", round), 2*time.Second)
				waitAcks(t, w, 400, 20*time.Second)
				for _, m := range ms {
					m.cmd.Process.Signal(syscall.SIGKILL)
				}
				for _, m := range ms {
					m.cmd.Wait()
				}
				attempts = append(attempts, w.halt()...)
				for _, m := range ms {
					m.restart(t)
				}
				for _, m := range ms {
					m.waitHealthy(t)
				}
				l = converge(t, ms, "/q")
				acked, unacked := checkAttempts(t, l, attempts)
				if acked < 400*(round+1) {
					t.Fatalf("only %d acknowledged writes found; the load did not run", acked)
				}
				t.Logf("after kill %d: %d attempts, %d acknowledged, all there once; %d applied without an acknowledgment",
					round+1, len(attempts), acked, unacked)
			}
			// And the cluster goes on taking writes past them.
			code, ev, err := post(&http.Client{Timeout: 5 * time.Second}, ms[0].url, "/q", "after")
			if err != nil || code != 201 || ev.Node.ModifiedIndex <= l.index {
				t.Fatalf("write after the restart: %d %+v %v (index before %d)", code, ev, err, l.index)
			}
		})
	}
}

// A follower is stopped, the others take 1000 writes with a snapshot every
// 100 entries (so the log the follower would need is compacted away), and
// the follower restarts: its plain, local reads have every key within a
// bound, and its log says it restored the leader's snapshot.
func TestClusterMemberCatchesUpFromSnapshot(t *testing.T) {
	ms := startClusterWith(t, 3, clusterOpts{flags: []string{"--snapshot-count", "100", "--log-level", "info"}})
	leader := waitLeader(t, ms, 10*time.Second)
	var lag *member
	var alive []*member
	for _, m := range ms {
		if m != leader && lag == nil {
			lag = m
		} else {
			alive = append(alive, m)
		}
	}
	lag.stop(t)

	const n = 1000
	c := &http.Client{Timeout: 5 * time.Second}
	var last uint64
	for i := 0; i < n; i++ {
		key, value := fmt.Sprintf("/snap/k%04d", i), fmt.Sprint("v", i)
		for try := 0; ; try++ {
			code, ev, err := put(c, alive[i%2].url, key, value, nil)
			if err == nil && (code == 200 || code == 201) && ev.Node.Value == value {
				last = ev.Node.ModifiedIndex
				break
			}
			if try == 20 {
				t.Fatalf("put %s: %d %v", key, code, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	start := time.Now()
	lag.restart(t)
	lag.waitHealthy(t)
	var l dirView
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		l, err = listDir(c, lag.url, "/snap")
		if err == nil && len(l.nodes) == n && l.index >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted member has %d of %d keys at index %d (want %d) after 30 s (%v); logs:\n%s",
				len(l.nodes), n, l.index, last, err, tail(lag.logs.String(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the restarted member had all %d keys %v after its start", n, time.Since(start).Round(time.Millisecond))
	for i := 0; i < n; i++ {
		if v := l.nodes[fmt.Sprintf("/snap/k%04d", i)]; v != fmt.Sprint("v", i) {
			t.Fatalf("key %d on the restarted member: %q", i, v)
		}
	}
	restored := logLines(lag.logs.String(), "snapshot restored from leader")
	if len(restored) == 0 {
		t.Fatalf("the restarted member did not log a snapshot from the leader; logs:\n%s", tail(lag.logs.String(), 40))
	}
	// The snapshot is recent: it covers most of what the member missed.
	if idx, _ := restored[0]["index"].(float64); idx < n/2 {
		t.Fatalf("restored a snapshot at index %v, want one past %d: %v", idx, n/2, restored[0])
	}
	t.Logf("restored from the leader: %v", restored[0])
}

// logLines returns the zerolog JSON lines of logs whose message is msg.
func logLines(logs, msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["message"] == msg {
			out = append(out, line)
		}
	}
	return out
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
