package main

import (
	"fmt"
	"sort"
	"testing"

	"github.com/anishathalye/porcupine"
)

// The sequential specification that linearizable_e2e_test.go checks the
// cluster against, with porcupine: one register per key, which exists or
// not and holds a value. Every value ever written is unique, which is what
// keeps the model small and sound:
//
//   - compare-and-swap by prevIndex compares the node's modifiedIndex. That
//     index is global and the model does not track it; but a client only
//     sends an index it saw together with a value, and with unique values
//     "modifiedIndex is I" is the same as "the value is the one seen at I".
//     So such a CAS is checked as a CAS by that value. checkIndexes makes
//     sure the premise holds: across every observation, each value has one
//     modifiedIndex and each index one value.
//   - a write that got no definite answer (timeout, network error after
//     sending, 5xx, errorCode 300/301) may have been applied at any time
//     after it was sent, or never: its return is put at the end of the
//     history and its output matches whatever the model says it did. A
//     write never sent (the dial failed) is left out. A read without a
//     definite answer tells nothing and is left out.
//   - set answers with the node it replaced (prevNode), so a set is checked
//     as a read of the old state too, which catches lost updates.

const (
	opGet = iota // quorum=true
	opSet
	opCAS // by prevValue, or by prevIndex translated to the value seen at it
	opCAD // compare-and-delete by prevValue
)

type kvIn struct {
	op    int
	key   string
	prev  string // CAS, CAD: the value compared with
	index uint64 // CAS by prevIndex: the index sent (prev is the value seen at it)
	value string // set, CAS: the new value
}

type kvOut struct {
	unknown bool   // no definite answer: maybe applied
	ok      bool   // get: found; write: done
	code    int    // a definite failure's errorCode (100 key not found, 101 compare failed)
	exists  bool   // get: found; set: it replaced a node
	value   string // get: the value; set: the replaced node's value
}

type kvState struct {
	exists bool
	value  string
}

func kvStep(state, input, output interface{}) (bool, interface{}) {
	s, in, out := state.(kvState), input.(kvIn), output.(kvOut)
	switch in.op {
	case opGet:
		return out.unknown || out.exists == s.exists && (!s.exists || out.value == s.value), s
	case opSet:
		next := kvState{exists: true, value: in.value}
		return out.unknown || out.ok && out.exists == s.exists && (!s.exists || out.value == s.value), next
	case opCAS, opCAD:
		code := 0
		if !s.exists {
			code = 100
		} else if s.value != in.prev {
			code = 101
		}
		next := s
		if code == 0 {
			next = kvState{}
			if in.op == opCAS {
				next = kvState{exists: true, value: in.value}
			}
		}
		switch {
		case out.unknown:
			return true, next
		case code == 0:
			return out.ok, next
		default:
			return !out.ok && out.code == code, s
		}
	}
	return false, s
}

var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(kvIn).key
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return kvState{} },
	Step: kvStep,
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(kvIn), output.(kvOut)
		var res string
		switch {
		case out.unknown:
			res = "?"
		case in.op == opGet && !out.exists:
			res = "not found"
		case in.op == opGet:
			res = fmt.Sprintf("%q", out.value)
		case !out.ok:
			res = fmt.Sprint("error ", out.code)
		case in.op == opSet && out.exists:
			res = fmt.Sprintf("ok, was %q", out.value)
		default:
			res = "ok"
		}
		switch in.op {
		case opGet:
			return fmt.Sprintf("get(%s) -> %s", in.key, res)
		case opSet:
			return fmt.Sprintf("set(%s, %q) -> %s", in.key, in.value, res)
		case opCAS:
			if in.index != 0 {
				return fmt.Sprintf("cas(%s, index %d [%q], %q) -> %s", in.key, in.index, in.prev, in.value, res)
			}
			return fmt.Sprintf("cas(%s, %q, %q) -> %s", in.key, in.prev, in.value, res)
		default:
			return fmt.Sprintf("cad(%s, %q) -> %s", in.key, in.prev, res)
		}
	},
	DescribeState: func(state interface{}) string {
		if s := state.(kvState); s.exists {
			return fmt.Sprintf("%q", s.value)
		}
		return "(none)"
	},
}

// seenAt is one observation of a node: a value with its modifiedIndex.
type seenAt struct {
	key, value string
	index      uint64
}

// checkIndexes returns what contradicts the premise of the model: a value
// seen with two modifiedIndexes, or an index with two values.
func checkIndexes(obs []seenAt) []string {
	byValue := map[string]seenAt{}
	byIndex := map[uint64]seenAt{}
	var bad []string
	for _, o := range obs {
		if p, ok := byValue[o.value]; ok && p != o {
			bad = append(bad, fmt.Sprintf("value %q seen as %+v and %+v", o.value, p, o))
		}
		if p, ok := byIndex[o.index]; ok && p != o {
			bad = append(bad, fmt.Sprintf("index %d seen as %+v and %+v", o.index, p, o))
		}
		byValue[o.value], byIndex[o.index] = o, o
	}
	return bad
}

// readAt is one read's X-Etcd-Index on one member; inc is the member's
// incarnation (bumped while it is down), the same at call and return.
type readAt struct {
	member    int
	inc       int64
	call, ret int64
	index     uint64
	quorum    bool
}

// checkMonotonic returns the reads that saw an older X-Etcd-Index than an
// answer the same incarnation of the same member gave before the read was
// sent: a member's state never goes back while it runs.
func checkMonotonic(reads []readAt) []string {
	type inc struct {
		member int
		inc    int64
	}
	groups := map[inc][]readAt{}
	for _, r := range reads {
		k := inc{r.member, r.inc}
		groups[k] = append(groups[k], r)
	}
	var bad []string
	for _, g := range groups {
		byRet := append([]readAt(nil), g...)
		sort.Slice(byRet, func(i, j int) bool { return byRet[i].ret < byRet[j].ret })
		sort.Slice(g, func(i, j int) bool { return g[i].call < g[j].call })
		var best readAt // the highest index answered before the current call
		j := 0
		for _, r := range g {
			for ; j < len(byRet) && byRet[j].ret < r.call; j++ {
				if byRet[j].index > best.index {
					best = byRet[j]
				}
			}
			if r.index < best.index && len(bad) < 20 {
				bad = append(bad, fmt.Sprintf("member %d (incarnation %d) answered index %d (quorum %v) after it had answered %d (quorum %v)",
					r.member, r.inc, r.index, r.quorum, best.index, best.quorum))
			}
		}
	}
	return bad
}

// The model can fail: it rejects a stale read, a lost update, a CAS that
// succeeded on the wrong value and a definite failure that should have
// succeeded, and accepts a write of unknown outcome either way.
func TestKVModel(t *testing.T) {
	op := func(client int, call, ret int64, in kvIn, out kvOut) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
	}
	set := func(v string) kvIn { return kvIn{op: opSet, key: "k", value: v} }
	get := kvIn{op: opGet, key: "k"}
	for _, c := range []struct {
		name string
		ok   bool
		h    []porcupine.Operation
	}{
		{"stale read", false, []porcupine.Operation{
			op(0, 0, 1, set("a"), kvOut{ok: true}),
			op(0, 2, 3, set("b"), kvOut{ok: true, exists: true, value: "a"}),
			op(1, 4, 5, get, kvOut{ok: true, exists: true, value: "a"}),
		}},
		{"lost update", false, []porcupine.Operation{
			op(0, 0, 1, set("a"), kvOut{ok: true}),
			op(1, 2, 3, set("b"), kvOut{ok: true}), // replaced nothing, yet a was there
		}},
		{"cas on the wrong value", false, []porcupine.Operation{
			op(0, 0, 1, set("a"), kvOut{ok: true}),
			op(1, 2, 3, kvIn{op: opCAS, key: "k", prev: "x", value: "b"}, kvOut{ok: true}),
		}},
		{"compare failed wrongly", false, []porcupine.Operation{
			op(0, 0, 1, set("a"), kvOut{ok: true}),
			op(1, 2, 3, kvIn{op: opCAD, key: "k", prev: "a"}, kvOut{code: 101}),
		}},
		{"unknown write applied", true, []porcupine.Operation{
			op(0, 0, 100, set("a"), kvOut{unknown: true}),
			op(1, 2, 3, get, kvOut{ok: true, exists: true, value: "a"}),
			op(1, 4, 5, kvIn{op: opCAD, key: "k", prev: "a"}, kvOut{ok: true}),
			op(1, 6, 7, get, kvOut{}),
		}},
		{"unknown write not applied", true, []porcupine.Operation{
			op(0, 0, 100, set("a"), kvOut{unknown: true}),
			op(1, 2, 3, get, kvOut{}),
			op(1, 4, 5, kvIn{op: opCAS, key: "k", prev: "a", value: "b"}, kvOut{code: 100}),
		}},
	} {
		if got := porcupine.CheckOperations(kvModel, c.h); got != c.ok {
			t.Errorf("%s: linearizable %v, want %v", c.name, got, c.ok)
		}
	}
	if bad := checkIndexes([]seenAt{{"k", "a", 5}, {"k", "b", 5}}); len(bad) == 0 {
		t.Error("an index seen with two values passed")
	}
	if bad := checkIndexes([]seenAt{{"k", "a", 5}, {"k", "a", 5}, {"k", "b", 6}}); len(bad) != 0 {
		t.Errorf("consistent observations refused: %v", bad)
	}
	reads := []readAt{{member: 0, inc: 0, call: 0, ret: 1, index: 7}, {member: 0, inc: 0, call: 2, ret: 3, index: 6}}
	if bad := checkMonotonic(reads); len(bad) != 1 {
		t.Errorf("a member going back: %v", bad)
	}
	reads[1].inc = 2 // another incarnation, or overlapping calls, may go back
	if bad := checkMonotonic(reads); len(bad) != 0 {
		t.Errorf("a restarted member: %v", bad)
	}
	reads[1].inc, reads[1].call = 0, 1
	if bad := checkMonotonic(reads); len(bad) != 0 {
		t.Errorf("concurrent reads: %v", bad)
	}
}
