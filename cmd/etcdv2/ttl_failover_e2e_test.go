package main

import (
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

// Only the leader expires keys. When it dies, the new leader takes over the
// deadlines: nothing expires early, and what is due expires on time, with
// one expire each (the key is gone on every member that is left).
func TestTTLAcrossFailover(t *testing.T) {
	ms := startCluster(t, 3)
	var leader *member
	var rest []*member
	for _, m := range ms {
		if m.state(t) == "StateLeader" {
			leader = m
		} else {
			rest = append(rest, m)
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	set := time.Now()
	if code, _, err := put(c, leader.url, "/ttl", "v", url.Values{"ttl": {"4"}}); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	if code, _, err := put(c, leader.url, "/forever", "v", nil); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	time.Sleep(time.Second)
	leader.cmd.Process.Signal(syscall.SIGKILL)
	leader.cmd.Wait()

	// Until its deadline the key is there on both members left (a second
	// of margin: the new leader's first sweep may come up to 0.5 s late,
	// never early).
	for time.Since(set) < 3*time.Second {
		for _, m := range rest {
			if code, ev := get(t, m.url, "/ttl"); code != 200 || ev.Node.Value != "v" {
				t.Fatalf("%v after the set, before its 4 s ttl: %s answers %d", time.Since(set).Round(time.Millisecond), m.name, code)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Then it expires, within a bounded time, on both.
	for _, m := range rest {
		deadline := set.Add(10 * time.Second)
		for {
			code, _ := get(t, m.url, "/ttl")
			if code == 404 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still has the key 10 s after a 4 s ttl was set", m.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if code, _ := get(t, m.url, "/forever"); code != 200 {
			t.Fatalf("%s lost a key without ttl: %d", m.name, code)
		}
	}
	t.Logf("expired %v after the set, the leader killed 1 s in", time.Since(set).Round(100*time.Millisecond))
}
