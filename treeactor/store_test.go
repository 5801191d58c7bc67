package treeactor

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// Every sequence below was replayed on the reference etcd 3.5 (whose fresh
// index is 3, so its indices there are shifted); the JSON is what it answered.

func TestSetCreateAndRoot(t *testing.T) {
	s := NewStore()
	runSteps(t, s, []step{
		{c: set("/a", "1"), index: 1, want: `{"action":"set","node":{"key":"/a","value":"1","modifiedIndex":1,"createdIndex":1}}`},
		{c: set("/a", "2"), index: 2, want: `{"action":"set","node":{"key":"/a","value":"2","modifiedIndex":2,"createdIndex":2},"prevNode":{"key":"/a","value":"1","modifiedIndex":1,"createdIndex":1}}`},
		{name: "set dir over a file", c: dir(set("/a", "")), index: 3, want: `{"action":"set","node":{"key":"/a","dir":true,"modifiedIndex":3,"createdIndex":3},"prevNode":{"key":"/a","value":"2","modifiedIndex":2,"createdIndex":2}}`},
		{c: dir(set("/d", "")), index: 4, want: `{"action":"set","node":{"key":"/d","dir":true,"modifiedIndex":4,"createdIndex":4}}`},
		{name: "set dir over a dir", c: dir(set("/d", "")), index: 4, want: `{"errorCode":102,"message":"Not a file","cause":"/d","index":4}`},
		{name: "set file over a dir", c: set("/d", "x"), index: 4, want: `{"errorCode":102,"message":"Not a file","cause":"/d","index":4}`},
		{c: set("/a/b", "x"), index: 5, want: `{"action":"set","node":{"key":"/a/b","value":"x","modifiedIndex":5,"createdIndex":5}}`},
		{name: "set under a file", c: set("/a/b/c", "x"), index: 5, want: `{"errorCode":104,"message":"Not a directory","cause":"/a/b","index":5}`},
		{name: "create existing", c: create("/a/b", "x"), index: 5, want: `{"errorCode":105,"message":"Key already exists","cause":"/a/b","index":5}`},
		{name: "create under a file", c: create("/a/b/c", "x"), index: 5, want: `{"errorCode":104,"message":"Not a directory","cause":"/a/b","index":5}`},
		{c: post("/a", "x"), index: 6, want: `{"action":"create","node":{"key":"/a/00000000000000000006","value":"x","modifiedIndex":6,"createdIndex":6}}`},
		{name: "post under a file", c: post("/a/b", "x"), index: 6, want: `{"errorCode":104,"message":"Not a directory","cause":"/a/b","index":6}`},
		{name: "set root", c: set("/", "1"), index: 6, want: `{"errorCode":107,"message":"Root is read only","cause":"/","index":6}`},
		{name: "create root", c: create("/", "1"), index: 6, want: `{"errorCode":107,"message":"Root is read only","cause":"/","index":6}`},
		{name: "update root", c: update("/", "1"), index: 6, want: `{"errorCode":107,"message":"Root is read only","cause":"/","index":6}`},
		{name: "cas root", c: cas("/", "1", "x", 0), index: 6, want: `{"errorCode":107,"message":"Root is read only","cause":"/","index":6}`},
		{name: "delete root", c: del("/"), index: 6, want: `{"errorCode":107,"message":"Root is read only","cause":"/","index":6}`},
		{name: "delete root recursively", c: with(del("/"), func(c *actors.Command) { c.Dir, c.Recursive = true, true }), index: 6, want: `{"errorCode":107,"message":"Root is read only","cause":"/","index":6}`},
		{name: "cad root by value", c: cad("/", "x", 0), index: 6, want: `{"errorCode":102,"message":"Not a file","index":6}`},
		{name: "cad root by index", c: cad("", "", 3), index: 6, want: `{"errorCode":102,"message":"Not a file","index":6}`},
		{c: post("/", "r"), index: 7, want: `{"action":"create","node":{"key":"/00000000000000000007","value":"r","modifiedIndex":7,"createdIndex":7}}`},
		{c: create("/q/r/s", "1"), index: 8, want: `{"action":"create","node":{"key":"/q/r/s","value":"1","modifiedIndex":8,"createdIndex":8}}`},
		{get: read("/q", true, false), index: 8, want: `{"action":"get","node":{"key":"/q","dir":true,"nodes":[{"key":"/q/r","dir":true,"nodes":[{"key":"/q/r/s","value":"1","modifiedIndex":8,"createdIndex":8}],"modifiedIndex":8,"createdIndex":8}],"modifiedIndex":8,"createdIndex":8}}`},
		{get: read("/q", false, false), index: 8, want: `{"action":"get","node":{"key":"/q","dir":true,"nodes":[{"key":"/q/r","dir":true,"modifiedIndex":8,"createdIndex":8}],"modifiedIndex":8,"createdIndex":8}}`},
		{name: "uncleaned path", c: set("a//q/../q/./c2", "z"), index: 9, want: `{"action":"set","node":{"key":"/a/q/c2","value":"z","modifiedIndex":9,"createdIndex":9}}`},
		{get: read("a/q//", false, false), index: 9, want: `{"action":"get","node":{"key":"/a/q","dir":true,"nodes":[{"key":"/a/q/c2","value":"z","modifiedIndex":9,"createdIndex":9}],"modifiedIndex":9,"createdIndex":9}}`},
	})
	// Which counter each refusal bumps was read off the reference's
	// /v2/stats/store: a blocked create also counts as a failed set, and a
	// refused update, compareAndSwap, delete or compareAndDelete of the root
	// counts as a success.
	want := actors.StoreStats{
		GetSuccess: 3,
		SetSuccess: 6, SetFail: 6,
		CreateSuccess: 3, CreateFail: 4,
		UpdateSuccess: 1, CompareAndSwapSuccess: 1,
		DeleteSuccess: 2, CompareAndDeleteSuccess: 2,
	}
	if got := s.Stats(); got != want {
		t.Fatalf("stats\n got %+v\nwant %+v", got, want)
	}
}

func TestUpdateCompareAndSwapCompareAndDelete(t *testing.T) {
	s := NewStore()
	runSteps(t, s, []step{
		{c: set("/a/b", "x"), index: 1, want: `{"action":"set","node":{"key":"/a/b","value":"x","modifiedIndex":1,"createdIndex":1}}`},
		{c: update("/nokey", "1"), index: 1, want: `{"errorCode":100,"message":"Key not found","cause":"/nokey","index":1}`},
		{c: update("/no/key", "1"), index: 1, want: `{"errorCode":100,"message":"Key not found","cause":"/no","index":1}`},
		{c: update("/a/b/x", "1"), index: 1, want: `{"errorCode":104,"message":"Not a directory","cause":"/a/b","index":1}`},
		{name: "update a dir's value", c: update("/a", "1"), index: 1, want: `{"errorCode":102,"message":"Not a file","cause":"/a","index":1}`},
		{c: set("/k", "v"), index: 2, want: `{"action":"set","node":{"key":"/k","value":"v","modifiedIndex":2,"createdIndex":2}}`},
		{c: cas("/k", "n", "x", 0), index: 2, want: `{"errorCode":101,"message":"Compare failed","cause":"[x != v]","index":2}`},
		{c: cas("/k", "n", "", 1), index: 2, want: `{"errorCode":101,"message":"Compare failed","cause":"[1 != 2]","index":2}`},
		{c: cas("/k", "n", "x", 1), index: 2, want: `{"errorCode":101,"message":"Compare failed","cause":"[x != v] [1 != 2]","index":2}`},
		{c: cas("/k", "n", "v", 1), index: 2, want: `{"errorCode":101,"message":"Compare failed","cause":"[1 != 2]","index":2}`},
		{c: cas("/nok", "n", "v", 0), index: 2, want: `{"errorCode":100,"message":"Key not found","cause":"/nok","index":2}`},
		{c: cas("/a", "n", "v", 0), index: 2, want: `{"errorCode":102,"message":"Not a file","cause":"/a","index":2}`},
		{c: cad("/k", "x", 0), index: 2, want: `{"errorCode":101,"message":"Compare failed","cause":"[x != v]","index":2}`},
		{c: cad("/k", "", 1), index: 2, want: `{"errorCode":101,"message":"Compare failed","cause":"[1 != 2]","index":2}`},
		{c: cad("/k", "x", 1), index: 2, want: `{"errorCode":101,"message":"Compare failed","cause":"[x != v] [1 != 2]","index":2}`},
		{c: cad("/a", "x", 0), index: 2, want: `{"errorCode":102,"message":"Not a file","cause":"/a","index":2}`},
		{c: cad("/nok", "x", 0), index: 2, want: `{"errorCode":100,"message":"Key not found","cause":"/nok","index":2}`},
		{c: cas("/k", "n", "v", 0), index: 3, want: `{"action":"compareAndSwap","node":{"key":"/k","value":"n","modifiedIndex":3,"createdIndex":2},"prevNode":{"key":"/k","value":"v","modifiedIndex":2,"createdIndex":2}}`},
		{c: cad("/k", "", 3), index: 4, want: `{"action":"compareAndDelete","node":{"key":"/k","modifiedIndex":4,"createdIndex":2},"prevNode":{"key":"/k","value":"n","modifiedIndex":3,"createdIndex":2}}`},
		{c: update("/a/b", "y"), index: 5, want: `{"action":"update","node":{"key":"/a/b","value":"y","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/a/b","value":"x","modifiedIndex":1,"createdIndex":1}}`},
		{c: cas("/a/b", "z", "y", 5), index: 6, want: `{"action":"compareAndSwap","node":{"key":"/a/b","value":"z","modifiedIndex":6,"createdIndex":1},"prevNode":{"key":"/a/b","value":"y","modifiedIndex":5,"createdIndex":1}}`},
	})
	// etcd counts a refused update of a directory's value, and every refused
	// compareAndDelete of an existing key, as successes.
	want := actors.StoreStats{
		SetSuccess:    2,
		UpdateSuccess: 2, UpdateFail: 3,
		CompareAndSwapSuccess: 2, CompareAndSwapFail: 6,
		CompareAndDeleteSuccess: 5, CompareAndDeleteFail: 1,
	}
	if got := s.Stats(); got != want {
		t.Fatalf("stats\n got %+v\nwant %+v", got, want)
	}
}

func TestDeleteAndHidden(t *testing.T) {
	s := NewStore()
	recursive := func(c *actors.Command) *actors.Command { c.Recursive = true; return c }
	runSteps(t, s, []step{
		{c: set("/f", "1"), index: 1, want: `{"action":"set","node":{"key":"/f","value":"1","modifiedIndex":1,"createdIndex":1}}`},
		{name: "delete a file with dir=true", c: dir(del("/f")), index: 2, want: `{"action":"delete","node":{"key":"/f","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/f","value":"1","modifiedIndex":1,"createdIndex":1}}`},
		{c: dir(set("/e", "")), index: 3, want: `{"action":"set","node":{"key":"/e","dir":true,"modifiedIndex":3,"createdIndex":3}}`},
		{name: "delete a dir without dir", c: del("/e"), index: 3, want: `{"errorCode":102,"message":"Not a file","cause":"/e","index":3}`},
		{c: dir(del("/e")), index: 4, want: `{"action":"delete","node":{"key":"/e","dir":true,"modifiedIndex":4,"createdIndex":3},"prevNode":{"key":"/e","dir":true,"modifiedIndex":3,"createdIndex":3}}`},
		{c: set("/h/_x", "1"), index: 5, want: `{"action":"set","node":{"key":"/h/_x","value":"1","modifiedIndex":5,"createdIndex":5}}`},
		{name: "a hidden child makes a dir non-empty", c: dir(del("/h")), index: 5, want: `{"errorCode":108,"message":"Directory not empty","cause":"/h","index":5}`},
		{name: "hidden children are not listed", get: read("/h", false, false), index: 5, want: `{"action":"get","node":{"key":"/h","dir":true,"modifiedIndex":5,"createdIndex":5}}`},
		{name: "a hidden key is read by its path", get: read("/h/_x", false, false), index: 5, want: `{"action":"get","node":{"key":"/h/_x","value":"1","modifiedIndex":5,"createdIndex":5}}`},
		{c: set("/h/y/_z", "2"), index: 6, want: `{"action":"set","node":{"key":"/h/y/_z","value":"2","modifiedIndex":6,"createdIndex":6}}`},
		{c: set("/h/y/w", "3"), index: 7, want: `{"action":"set","node":{"key":"/h/y/w","value":"3","modifiedIndex":7,"createdIndex":7}}`},
		{get: read("/h", true, false), index: 7, want: `{"action":"get","node":{"key":"/h","dir":true,"nodes":[{"key":"/h/y","dir":true,"nodes":[{"key":"/h/y/w","value":"3","modifiedIndex":7,"createdIndex":7}],"modifiedIndex":6,"createdIndex":6}],"modifiedIndex":5,"createdIndex":5}}`},
		{get: read("/h/y/_z", true, false), index: 7, want: `{"action":"get","node":{"key":"/h/y/_z","value":"2","modifiedIndex":6,"createdIndex":6}}`},
		{name: "recursive implies dir", c: recursive(del("/h")), index: 8, want: `{"action":"delete","node":{"key":"/h","dir":true,"modifiedIndex":8,"createdIndex":5},"prevNode":{"key":"/h","dir":true,"modifiedIndex":5,"createdIndex":5}}`},
		{c: del("/nonexist/x"), index: 8, want: `{"errorCode":100,"message":"Key not found","cause":"/nonexist","index":8}`},
		{c: set("/g", "1"), index: 9, want: `{"action":"set","node":{"key":"/g","value":"1","modifiedIndex":9,"createdIndex":9}}`},
		{c: del("/g/q"), index: 9, want: `{"errorCode":104,"message":"Not a directory","cause":"/g","index":9}`},
		{get: read("/h/y/w", false, false), index: 9, want: `{"errorCode":100,"message":"Key not found","cause":"/h","index":9}`},
		{get: read("/", true, true), index: 9, want: `{"action":"get","node":{"dir":true,"nodes":[{"key":"/g","value":"1","modifiedIndex":9,"createdIndex":9}]}}`},
	})
	want := actors.StoreStats{
		GetSuccess: 5, GetFail: 1,
		SetSuccess:    6,
		DeleteSuccess: 3, DeleteFail: 4,
	}
	if got := s.Stats(); got != want {
		t.Fatalf("stats\n got %+v\nwant %+v", got, want)
	}
	if s.Len() != 1 || len(nodesOf(s)) != 1 {
		t.Fatalf("deleted nodes left in the tree: %d", len(nodesOf(s)))
	}
}

func TestRemovedPaths(t *testing.T) {
	s := NewStore()
	for _, p := range []string{"/h/_x", "/h/y/_z", "/h/y/w"} {
		mustApply(t, s, set(p, "1"))
	}
	ev := mustApply(t, s, with(del("/h"), func(c *actors.Command) { c.Recursive = true }))
	// Every path comes after everything below it; the directory deleted last.
	want := []string{"/h/y/w", "/h/y/_z", "/h/y", "/h/_x", "/h"}
	if !slices.Equal(ev.Removed, want) {
		t.Fatalf("removed %v, want %v", ev.Removed, want)
	}
	mustApply(t, s, set("/f", "1"))
	if ev := mustApply(t, s, del("/f")); ev.Removed != nil {
		t.Fatalf("a file delete lists removed paths: %v", ev.Removed)
	}
	mustApply(t, s, dir(set("/e", "")))
	if ev := mustApply(t, s, dir(del("/e"))); !slices.Equal(ev.Removed, []string{"/e"}) {
		t.Fatalf("an empty dir delete removed %v", ev.Removed)
	}
}

func mustApply(t *testing.T, s *Store, c *actors.Command) *actors.Event {
	t.Helper()
	ev, err := s.Apply(c)
	if err != nil {
		t.Fatalf("%+v: %v", c, err)
	}
	return ev
}

func TestTTLAndRefresh(t *testing.T) {
	s := NewStore()
	later := read("/rnew", false, false)
	later.Now = in(150*time.Second + 500*time.Millisecond)
	runSteps(t, s, []step{
		{c: ttl(set("/t", "1"), 100*time.Second), index: 1, want: `{"action":"set","node":{"key":"/t","value":"1","expiration":"2026-01-01T00:01:40Z","ttl":100,"modifiedIndex":1,"createdIndex":1}}`},
		{name: "set refresh keeps the value", c: refresh(ttl(set("/t", ""), 200*time.Second)), index: 2, refresh: true, want: `{"action":"set","node":{"key":"/t","value":"1","expiration":"2026-01-01T00:03:20Z","ttl":200,"modifiedIndex":2,"createdIndex":2},"prevNode":{"key":"/t","value":"1","expiration":"2026-01-01T00:01:40Z","ttl":100,"modifiedIndex":1,"createdIndex":1}}`},
		{name: "update refresh", c: refresh(ttl(update("/t", ""), 300*time.Second)), index: 3, refresh: true, want: `{"action":"update","node":{"key":"/t","value":"1","expiration":"2026-01-01T00:05:00Z","ttl":300,"modifiedIndex":3,"createdIndex":2},"prevNode":{"key":"/t","value":"1","expiration":"2026-01-01T00:03:20Z","ttl":200,"modifiedIndex":2,"createdIndex":2}}`},
		{name: "cas refresh", c: refresh(ttl(cas("/t", "", "1", 0), 300*time.Second)), index: 4, refresh: true, want: `{"action":"compareAndSwap","node":{"key":"/t","value":"1","expiration":"2026-01-01T00:05:00Z","ttl":300,"modifiedIndex":4,"createdIndex":2},"prevNode":{"key":"/t","value":"1","expiration":"2026-01-01T00:05:00Z","ttl":300,"modifiedIndex":3,"createdIndex":2}}`},
		{name: "an empty ttl makes the key permanent", c: update("/t", "2"), index: 5, want: `{"action":"update","node":{"key":"/t","value":"2","modifiedIndex":5,"createdIndex":2},"prevNode":{"key":"/t","value":"1","expiration":"2026-01-01T00:05:00Z","ttl":300,"modifiedIndex":4,"createdIndex":2}}`},
		{name: "create ignores refresh", c: refresh(ttl(create("/rnew", ""), 300*time.Second)), index: 6, want: `{"action":"create","node":{"key":"/rnew","value":"","expiration":"2026-01-01T00:05:00Z","ttl":300,"modifiedIndex":6,"createdIndex":6}}`},
		{c: refresh(ttl(set("/rnew2", ""), time.Second)), index: 6, want: `{"errorCode":100,"message":"Key not found","cause":"/rnew2","index":6}`},
		{c: refresh(ttl(update("/rnew3", ""), time.Second)), index: 6, want: `{"errorCode":100,"message":"Key not found","cause":"/rnew3","index":6}`},
		{c: refresh(ttl(cas("/rnew4", "", "x", 0), time.Second)), index: 6, want: `{"errorCode":100,"message":"Key not found","cause":"/rnew4","index":6}`},
		{name: "ttl rounds up at the reader's clock", get: later, index: 6, want: `{"action":"get","node":{"key":"/rnew","value":"","expiration":"2026-01-01T00:05:00Z","ttl":150,"modifiedIndex":6,"createdIndex":6}}`},
		{name: "a deadline before 2000 is permanent", c: with(set("/old", "1"), func(c *actors.Command) { c.Expiration = 1 }), index: 7, want: `{"action":"set","node":{"key":"/old","value":"1","modifiedIndex":7,"createdIndex":7}}`},
	})
	if len(s.ttl) != 1 || s.ttl[0].key != "/rnew" {
		t.Fatalf("ttl heap holds %d nodes", len(s.ttl))
	}
}

// Updating a directory's TTL follows etcd 2.x and the API document (etcd 3.5
// answers 300 here, a regression).
func TestDirTTLUpdate(t *testing.T) {
	s := NewStore()
	deadlines := runSteps(t, s, []step{
		{c: dir(set("/ud", "")), index: 1, want: `{"action":"set","node":{"key":"/ud","dir":true,"modifiedIndex":1,"createdIndex":1}}`},
		{c: dir(ttl(update("/ud", ""), 100*time.Second)), index: 2, want: `{"action":"update","node":{"key":"/ud","dir":true,"expiration":"2026-01-01T00:01:40Z","ttl":100,"modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/ud","dir":true,"modifiedIndex":1,"createdIndex":1}}`},
		{c: dir(update("/ud", "x")), index: 2, want: `{"errorCode":102,"message":"Not a file","cause":"/ud","index":2}`},
		{c: refresh(dir(ttl(update("/ud", ""), 200*time.Second))), index: 3, refresh: true, want: `{"action":"update","node":{"key":"/ud","dir":true,"expiration":"2026-01-01T00:03:20Z","ttl":200,"modifiedIndex":3,"createdIndex":1},"prevNode":{"key":"/ud","dir":true,"expiration":"2026-01-01T00:01:40Z","ttl":100,"modifiedIndex":2,"createdIndex":1}}`},
		{c: dir(create("/ud", "")), index: 3, want: `{"errorCode":105,"message":"Key already exists","cause":"/ud","index":3}`},
		{c: set("/ud/k", "v"), index: 4, want: `{"action":"set","node":{"key":"/ud/k","value":"v","modifiedIndex":4,"createdIndex":4}}`},
		{name: "a dir's prevNode lists no children", c: dir(update("/ud", "")), index: 5, want: `{"action":"update","node":{"key":"/ud","dir":true,"modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/ud","dir":true,"expiration":"2026-01-01T00:03:20Z","ttl":200,"modifiedIndex":3,"createdIndex":1}}`},
		{get: read("/ud", false, false), index: 5, want: `{"action":"get","node":{"key":"/ud","dir":true,"nodes":[{"key":"/ud/k","value":"v","modifiedIndex":4,"createdIndex":4}],"modifiedIndex":5,"createdIndex":1}}`},
	})
	d100, d200 := in(100*time.Second), in(200*time.Second)
	want := []int64{0, d100, d100, d200, d200, d200, 0, 0}
	if !slices.Equal(deadlines, want) {
		t.Fatalf("next deadlines %v, want %v", deadlines, want)
	}
}

func TestExpire(t *testing.T) {
	s := NewStore()
	runSteps(t, s, []step{
		{c: dir(ttl(set("/x", ""), time.Second)), index: 1, want: `{"action":"set","node":{"key":"/x","dir":true,"expiration":"2026-01-01T00:00:01Z","ttl":1,"modifiedIndex":1,"createdIndex":1}}`},
		{c: set("/x/a", "1"), index: 2, want: `{"action":"set","node":{"key":"/x/a","value":"1","modifiedIndex":2,"createdIndex":2}}`},
		{c: ttl(set("/x/b", "1"), 2*time.Second), index: 3, want: `{"action":"set","node":{"key":"/x/b","value":"1","expiration":"2026-01-01T00:00:02Z","ttl":2,"modifiedIndex":3,"createdIndex":3}}`},
		{c: ttl(set("/x/b2", "1"), time.Second), index: 4, want: `{"action":"set","node":{"key":"/x/b2","value":"1","expiration":"2026-01-01T00:00:01Z","ttl":1,"modifiedIndex":4,"createdIndex":4}}`},
		{c: ttl(set("/y2", "1"), 3*time.Second), index: 5, want: `{"action":"set","node":{"key":"/y2","value":"1","expiration":"2026-01-01T00:00:03Z","ttl":3,"modifiedIndex":5,"createdIndex":5}}`},
		{c: ttl(set("/y", "1"), 3*time.Second), index: 6, want: `{"action":"set","node":{"key":"/y","value":"1","expiration":"2026-01-01T00:00:03Z","ttl":3,"modifiedIndex":6,"createdIndex":6}}`},
		{c: ttl(set("/_hid", "1"), 3*time.Second), index: 7, want: `{"action":"set","node":{"key":"/_hid","value":"1","expiration":"2026-01-01T00:00:03Z","ttl":3,"modifiedIndex":7,"createdIndex":7}}`},
		{name: "nothing due", c: expire(in(999 * time.Millisecond)), index: 7, want: ``},
		{name: "a dir expires with its children", c: expire(in(time.Second)), index: 8, want: `{"action":"expire","node":{"key":"/x","dir":true,"modifiedIndex":8,"createdIndex":1},"prevNode":{"key":"/x","dir":true,"expiration":"2026-01-01T00:00:01Z","modifiedIndex":1,"createdIndex":1}}`},
		{name: "equal deadlines expire in path order", c: expire(in(5 * time.Second)), index: 11, want: `{"action":"expire","node":{"key":"/_hid","modifiedIndex":9,"createdIndex":7},"prevNode":{"key":"/_hid","value":"1","expiration":"2026-01-01T00:00:03Z","modifiedIndex":7,"createdIndex":7}}
{"action":"expire","node":{"key":"/y","modifiedIndex":10,"createdIndex":6},"prevNode":{"key":"/y","value":"1","expiration":"2026-01-01T00:00:03Z","modifiedIndex":6,"createdIndex":6}}
{"action":"expire","node":{"key":"/y2","modifiedIndex":11,"createdIndex":5},"prevNode":{"key":"/y2","value":"1","expiration":"2026-01-01T00:00:03Z","modifiedIndex":5,"createdIndex":5}}`},
		{get: read("/", true, true), index: 11, want: `{"action":"get","node":{"dir":true}}`},
	})
	if st := s.Stats(); st.ExpireCount != 4 {
		t.Fatalf("expireCount %d, want 4", st.ExpireCount)
	}
	if s.Len() != 0 || len(s.ttl) != 0 {
		t.Fatalf("expired nodes left: %d keys, %d deadlines", s.Len(), len(s.ttl))
	}
}

func TestExpireEventsAndNextDeadline(t *testing.T) {
	s := NewStore()
	s.SetJournal(true)
	mustApply(t, s, ttl(set("/later", "1"), 3*time.Second))
	mustApply(t, s, dir(ttl(set("/x", ""), time.Second)))
	mustApply(t, s, set("/x/a", "1"))
	mustApply(t, s, ttl(set("/x/b", "1"), 2*time.Second))
	mustApply(t, s, ttl(set("/x/b2", "1"), time.Second))
	s.Drain()
	if got := s.NextDeadline(); got != in(time.Second) {
		t.Fatalf("next deadline %d, want %d", got, in(time.Second))
	}
	if n := s.Expire(in(time.Second)); n != 1 {
		t.Fatalf("expired %d nodes, want 1", n)
	}
	evs := s.Drain()
	if len(evs) != 1 || !slices.Equal(evs[0].Removed, []string{"/x/b2", "/x/b", "/x/a", "/x"}) {
		t.Fatalf("expire events %v", evs)
	}
	// /x/b's later deadline went with its directory: /later is next.
	if got := s.NextDeadline(); got != in(3*time.Second) {
		t.Fatalf("next deadline after the sweep %d, want %d", got, in(3*time.Second))
	}
}

func TestNextDeadlineOnReplaceAndDelete(t *testing.T) {
	s := NewStore()
	m1, m2 := in(time.Minute), in(2*time.Minute)
	for i, c := range []struct {
		cmd  *actors.Command
		next int64
	}{
		{set("/p", "1"), 0},
		{ttl(set("/p", "2"), time.Minute), m1},           // permanent -> deadline
		{ttl(cas("/p", "3", "2", 0), 2*time.Minute), m2}, // moved
		{ttl(set("/o", "1"), time.Minute), m1},           // an earlier one
		{del("/o"), m2},                                  // gone again
		{set("/p", "4"), 0},                              // replaced by a permanent file
		{ttl(set("/q/r", "1"), time.Minute), m1},
		{with(del("/q"), func(c *actors.Command) { c.Recursive = true }), 0},
		{set("/s", "1"), 0},
		{del("/s"), 0},
	} {
		mustApply(t, s, c.cmd)
		if got := s.NextDeadline(); got != c.next {
			t.Fatalf("step %d: next deadline %d, want %d", i, got, c.next)
		}
	}
}

// An event keeps the clock of the command that made it, so its ttl reads the
// same in the write's answer and in a watch that finds it in the history later.
func TestEventsCarryTheirCommandClock(t *testing.T) {
	s := NewStore()
	const at = int64(1_700_000_000_000_000_000)
	ev, err := s.Apply(&actors.Command{Op: actors.OpSet, Path: "/k", Value: "v", Expiration: at + 5e9, Now: at})
	if err != nil || ev.At != at {
		t.Fatalf("set: At %d err %v, want %d", ev.At, err, at)
	}
	if got := string(ev.AppendJSON(nil, ev.At, false)); !bytes.Contains([]byte(got), []byte(`"ttl":5,`)) {
		t.Fatalf("set rendered at its own clock: %s", got)
	}
	s.SetJournal(true)
	if n := s.Expire(at + 6e9); n != 1 {
		t.Fatalf("expired %d", n)
	}
	evs := s.Drain()
	if len(evs) != 1 || evs[0].At != at+6e9 {
		t.Fatalf("expire events %+v", evs)
	}
}
