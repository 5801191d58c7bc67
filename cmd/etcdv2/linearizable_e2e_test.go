package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Acknowledged writes surviving is not all a client is promised: quorum
// reads and compare-and-swap must behave as if the cluster were one
// register per key, whatever happens to the members. This test runs
// concurrent clients against all three members (quorum gets, sets, CAS by
// prevValue and by prevIndex, compare-and-delete) while leaders and
// followers are killed and restarted and cut off and healed, records every
// operation with its real-time interval, and has porcupine decide whether
// some order of them explains every answer (linearize_model_test.go holds
// the model, linearize_check_test.go the faults and the checks). Plain reads
// are not linearizable in etcd, but while a member runs it never answers
// one from a state older than one it already answered from, and no read
// returns a value nobody wrote.
//
// LINEARIZE_SECONDS sets how long the load runs (20 s by default, so the
// package's tests stay quick in CI); the log says how many operations and
// faults the run covered.

const linClients = 5

// The clients share three keys at a time, and move on to three new ones
// every linEpoch: porcupine checks each key on its own, and its cost grows
// faster than the length of a key's history (a five-minute run on three
// keys did not finish in twelve minutes and took 20 GB), so a long run is
// checked as many short ones, each under all the faults of its time.
const linEpoch = 20 * time.Second

var linKeyNames = []string{"a", "b", "c"}

func linKey(epoch int, name string) string { return fmt.Sprintf("/lin/e%d/%s", epoch, name) }

// linRecorder gathers what the clients saw, in ns since start.
type linRecorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	seen  []seenAt
	reads []readAt
	// counts
	definite, unknown, unsent, plain int
	written, plainSaw                map[string]bool // values tried; values plain reads returned
	unexpected                       []string
	nextID                           atomic.Int64
}

func (r *linRecorder) now() int64 { return time.Since(r.start).Nanoseconds() }

// linClient is one client: it does one operation at a time against a
// random member, and remembers the last value and index it saw per key.
type linClient struct {
	rec   *linRecorder
	id    int // porcupine's client id: a new one after an answer never came
	name  int
	seq   int
	rnd   *rand.Rand
	http  *http.Client
	urls  []string
	incs  []atomic.Int64
	known map[string]seenAt // value "" with index 0: seen not to exist
	avoid []time.Time       // per member: not before, after it gave no answer
	// failure says why the last operation got no definite answer.
	failure string
}

type kvResp struct {
	Node      *nodeJSON `json:"node"`
	PrevNode  *nodeJSON `json:"prevNode"`
	ErrorCode int       `json:"errorCode"`
	Cause     string    `json:"cause"`
}

func (c *linClient) run(end time.Time, maxOps int) {
	c.avoid = make([]time.Time, len(c.urls))
	for n := 0; n < maxOps && time.Now().Before(end); n++ {
		m := c.pick()
		key := linKey(int(time.Since(c.rec.start)/linEpoch), linKeyNames[c.rnd.Intn(len(linKeyNames))])
		k, haveKnown := c.known[key]
		in := kvIn{key: key}
		plain := false
		switch p := c.rnd.Intn(100); {
		case p < 12:
			in.op, plain = opGet, true
		case p < 35 || !haveKnown:
			in.op = opGet
		case p < 55 || k.value == "":
			in.op = opSet
		case p < 72:
			in.op, in.prev = opCAS, k.value
		case p < 87:
			in.op, in.prev, in.index = opCAS, k.value, k.index
		default:
			in.op, in.prev = opCAD, k.value
		}
		if in.op == opSet || in.op == opCAS {
			c.seq++
			in.value = fmt.Sprintf("c%d-%d", c.name, c.seq)
		}
		if !c.do(m, in, plain) {
			// Down, cut off or without a leader: as a client with several
			// endpoints would, try the others for a while.
			c.avoid[m] = time.Now().Add(time.Second)
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// pick chooses a member at random, among those not avoided if any.
func (c *linClient) pick() int {
	var ok []int
	now := time.Now()
	for m, t := range c.avoid {
		if now.After(t) {
			ok = append(ok, m)
		}
	}
	if len(ok) == 0 {
		return c.rnd.Intn(len(c.urls))
	}
	return ok[c.rnd.Intn(len(ok))]
}

// do runs one operation and records it; false if it got no definite answer.
func (c *linClient) do(m int, in kvIn, plain bool) bool {
	u := c.urls[m] + "/v2/keys" + in.key
	var req *http.Request
	switch in.op {
	case opGet:
		if !plain {
			u += "?quorum=true"
		}
		req, _ = http.NewRequest("GET", u, nil)
	case opSet, opCAS:
		form := url.Values{"value": {in.value}}
		if in.op == opCAS && in.index != 0 {
			form.Set("prevIndex", strconv.FormatUint(in.index, 10))
		} else if in.op == opCAS {
			form.Set("prevValue", in.prev)
		}
		req, _ = http.NewRequest("PUT", u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case opCAD:
		req, _ = http.NewRequest("DELETE", u+"?prevValue="+url.QueryEscape(in.prev), nil)
	}
	if in.value != "" {
		c.rec.count(func(r *linRecorder) { r.written[in.value] = true })
	}
	inc := c.incs[m].Load()
	call := c.rec.now()
	resp, err := c.http.Do(req)
	var body kvResp
	var status int
	var index uint64
	if err == nil {
		status = resp.StatusCode
		index, _ = strconv.ParseUint(resp.Header.Get("X-Etcd-Index"), 10, 64)
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
	}
	ret := c.rec.now()
	sameInc := c.incs[m].Load() == inc
	c.failure = fmt.Sprintf("%d %d %q %v", status, body.ErrorCode, body.Cause, err)

	var out kvOut
	var op *net.OpError
	switch {
	case err != nil && errors.As(err, &op) && op.Op == "dial":
		c.rec.count(func(r *linRecorder) { r.unsent++ })
		return false // never reached the member: not applied
	case err != nil:
		out.unknown = true
	case status == 200 || status == 201:
		out.ok = true
	case (status == 404 && body.ErrorCode == 100) || (status == 412 && body.ErrorCode == 101):
		out.code = body.ErrorCode
	case status >= 500 || body.ErrorCode == 300 || body.ErrorCode == 301:
		out.unknown = true
	default:
		c.rec.count(func(r *linRecorder) {
			r.unexpected = append(r.unexpected, fmt.Sprintf("%+v: %d errorCode %d %q", in, status, body.ErrorCode, body.Cause))
		})
		return false
	}
	if in.op == opGet {
		if out.unknown {
			return false // a read that got no answer tells nothing
		}
		out.exists = out.ok
		if out.ok && body.Node != nil {
			out.value = body.Node.Value
		}
		c.rec.count(func(r *linRecorder) {
			if sameInc && index != 0 {
				r.reads = append(r.reads, readAt{member: m, inc: inc, call: call, ret: ret, index: index, quorum: !plain})
			}
		})
		if plain {
			c.rec.count(func(r *linRecorder) {
				r.plain++
				if out.exists {
					r.plainSaw[out.value] = true
				}
			})
			return true
		}
	}
	if in.op == opSet && out.ok && body.PrevNode != nil {
		out.exists, out.value = true, body.PrevNode.Value
	}
	c.learn(in, out, body)
	rec := porcupine.Operation{ClientId: c.id, Input: in, Call: call, Output: out, Return: ret}
	if out.unknown {
		rec.Return = -1 // the end of the history, set when it is complete
		c.id = int(c.rec.nextID.Add(1))
	}
	c.rec.count(func(r *linRecorder) {
		r.ops = append(r.ops, rec)
		if out.unknown {
			r.unknown++
		} else {
			r.definite++
		}
		for _, n := range []*nodeJSON{body.Node, body.PrevNode} {
			if n != nil && !out.unknown && !(in.op == opCAD && n == body.Node) && n.ModifiedIndex != 0 {
				r.seen = append(r.seen, seenAt{key: in.key, value: n.Value, index: n.ModifiedIndex})
			}
		}
	})
	return !out.unknown
}

// learn keeps what the answer says about the key, for the next CAS.
func (c *linClient) learn(in kvIn, out kvOut, body kvResp) {
	switch {
	case out.unknown:
		delete(c.known, in.key) // it may have changed under us
	case in.op == opGet && !out.exists, in.op == opCAD && out.ok:
		c.known[in.key] = seenAt{key: in.key}
	case out.ok && body.Node != nil:
		c.known[in.key] = seenAt{key: in.key, value: body.Node.Value, index: body.Node.ModifiedIndex}
	case out.code == 100:
		c.known[in.key] = seenAt{key: in.key}
	case out.code == 101:
		delete(c.known, in.key) // stale: read it again first
	}
}

func (r *linRecorder) count(f func(*linRecorder)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
}

func TestLinearizableUnderFaults(t *testing.T) {
	load := 20 * time.Second
	if s := os.Getenv("LINEARIZE_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("LINEARIZE_SECONDS=%q", s)
		}
		load = time.Duration(n) * time.Second
	}
	fn := newFaultNet()
	ms := startClusterWith(t, 3, clusterOpts{net: fn, flags: []string{"--snapshot-count", "300", "--log-level", "info"}})
	ids := make([]string, len(ms))
	for i, m := range ms {
		s, err := selfOf(m.url)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = s.ID
	}
	rec := &linRecorder{start: time.Now(), written: map[string]bool{}, plainSaw: map[string]bool{}}
	rec.nextID.Store(linClients)
	incs := make([]atomic.Int64, len(ms))
	end := time.Now().Add(load)
	var wg sync.WaitGroup
	for i := 0; i < linClients; i++ {
		c := &linClient{rec: rec, id: i, name: i, rnd: rand.New(rand.NewSource(time.Now().UnixNano() + int64(i))),
			http: &http.Client{Timeout: 1500 * time.Millisecond}, urls: urlsOf(ms), incs: incs, known: map[string]seenAt{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.http.CloseIdleConnections()
			c.run(end, 1_000_000)
		}()
	}
	kills, cuts := linFaults(t, ms, ids, fn, incs, end)
	wg.Wait()

	// Everybody up and joined: a last quorum read of every key on every
	// member goes into the history, so the members must agree at the end.
	// Right after a heal a member may need a few seconds to be reachable
	// again (see cluster_partition_e2e_test.go), hence the retries.
	waitLeader(t, ms, 15*time.Second)
	for _, m := range ms {
		m.waitHealthy(t)
	}
	final := &linClient{rec: rec, id: int(rec.nextID.Add(1)), rnd: rand.New(rand.NewSource(1)),
		http: &http.Client{Timeout: 5 * time.Second}, urls: urlsOf(ms), incs: incs, known: map[string]seenAt{}}
	var keys []string
	for e := 0; e <= int(time.Since(rec.start)/linEpoch); e++ {
		for _, name := range linKeyNames {
			keys = append(keys, linKey(e, name))
		}
	}
	for m := range ms {
		for _, k := range keys {
			var fails []string
			for !final.do(m, kvIn{op: opGet, key: k}, false) {
				fails = append(fails, final.failure)
				if len(fails) == 5 {
					t.Fatalf("final quorum read of %s on %s got no answer: %v; logs:\n%s", k, ms[m].name, fails, tail(ms[m].logs.String(), 40))
				}
			}
			if len(fails) > 0 {
				t.Logf("final quorum read of %s on %s answered after %d failures: %v", k, ms[m].name, len(fails), fails)
			}
		}
	}
	checkLinearizable(t, rec, kills, cuts, load)
}
