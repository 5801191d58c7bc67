package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// A member of a cluster killed right after it acknowledged a write answers
// its first read after the restart with that write: its commit index on
// disk may lag, so it catches up with the leader before it serves.
func TestClusterRestartedMemberServesWhatItAcknowledged(t *testing.T) {
	ms := startClusterWith(t, 3, clusterOpts{})
	c := &http.Client{Timeout: 5 * time.Second}
	for round := range 6 {
		leader := waitLeader(t, ms, 10*time.Second)
		m := leader
		if round%2 == 1 {
			for _, o := range ms {
				if o != leader {
					m = o
				}
			}
		}
		value := fmt.Sprint("v", round)
		if code, _, err := put(c, m.url, "/r", value, nil); err != nil || code >= 300 {
			t.Fatalf("put: %d %v", code, err)
		}
		m.cmd.Process.Signal(syscall.SIGKILL)
		m.cmd.Wait()
		m.restart(t)
		// The first answer, as soon as the member takes connections.
		var code int
		var ev eventJSON
		for i := 0; ; i++ {
			resp, err := c.Get(m.url + "/v2/keys/r")
			if err == nil {
				code = resp.StatusCode
				json.NewDecoder(resp.Body).Decode(&ev)
				resp.Body.Close()
				break
			}
			if i == 1000 {
				t.Fatalf("the restarted member takes no connection: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if code != 200 || ev.Node == nil || ev.Node.Value != value {
			t.Fatalf("round %d: %s acknowledged %q, then after a kill -9 answered %d %+v", round, m.name, value, code, ev)
		}
		m.waitHealthy(t)
	}
}
