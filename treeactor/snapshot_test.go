package treeactor

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// richStore holds every kind of node a snapshot must carry.
func richStore(t testing.TB) *Store {
	s := NewStore()
	cmds := []*actors.Command{
		set("/a/b/c", "1"),
		set("/a/_hidden", "h"),
		dir(set("/a/_hdir", "")),
		set("/a/_hdir/x", "in a hidden dir"),
		dir(ttl(set("/ttldir", ""), time.Hour)),
		ttl(set("/ttldir/f", "v"), 2*time.Hour),
		ttl(set("/f", "with \"quotes\" and \x00 bytes"), 90*time.Second),
		post("/queue", "first"),
		post("/queue", "second"),
		set("/gone", "x"),
		del("/gone"),
		set("/a/b/d", "2"),
		del("/a/b/c"), // moves /a/b/d into c's slot
		set("/k", "v"),
		cas("/k", "w", "nope", 0),
		update("/nokey", "x"),
		dir(set("/empty", "")),
		set("/", "x"),
	}
	for _, c := range cmds {
		s.Apply(c)
	}
	s.AppendGet(nil, "/a", true, true, now)
	s.AppendGet(nil, "/missing", false, false, now)
	checkInvariants(t, s)
	return s
}

// The last events go with the snapshot, as many as the store keeps, with
// everything a watcher is shown (and the removed paths it is matched by).
func TestSnapshotKeepsRecentEvents(t *testing.T) {
	s := NewStore()
	s.KeepEvents(4)
	var evs []*actors.Event
	for _, c := range []*actors.Command{
		set("/a", "1"), dir(set("/d", "")), set("/d/k", "2"), ttl(set("/t", "3"), time.Hour),
		cas("/a", "4", "1", 0), with(del("/d"), func(c *actors.Command) { c.Recursive = true }),
	} {
		ev, err := s.Apply(c)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	r, err := RestoreStore(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	got, want := r.RecentEvents(), evs[2:]
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if d := got[len(got)-1]; d.Action != actors.ActionDelete || len(d.Removed) != 2 {
		t.Errorf("the directory's delete %+v", d)
	}
	// Keeping fewer keeps the newest.
	r.KeepEvents(1)
	if evs := r.RecentEvents(); len(evs) != 1 || evs[0].Index != s.Index() {
		t.Errorf("after KeepEvents(1): %+v", evs)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := richStore(t)
	data := s.Snapshot()
	r, err := RestoreStore(data)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r)
	if got, want := dump(r), dump(s); got != want {
		t.Fatalf("restored tree differs:\n%s\nwant\n%s", got, want)
	}
	if again := r.Snapshot(); !bytes.Equal(again, data) {
		t.Fatalf("restored tree snapshots to different bytes")
	}
	if r.Stats() != s.Stats() || r.Index() != s.Index() {
		t.Fatalf("counters or index lost: %+v %d", r.Stats(), r.Index())
	}
	// Both trees go on to answer the same writes, reads and expiry alike.
	s.SetJournal(true)
	r.SetJournal(true)
	more := []*actors.Command{
		post("/queue", "third"),
		set("/a/_hidden", "h2"),
		expire(in(100 * time.Second)),
		expire(in(3 * time.Hour)),
		with(del("/a"), func(c *actors.Command) { c.Recursive = true }),
	}
	for _, c := range more {
		e1, err1 := s.Apply(c)
		e2, err2 := r.Apply(c)
		if (err1 == nil) != (err2 == nil) || (e1 == nil) != (e2 == nil) {
			t.Fatalf("%+v answered differently", c)
		}
		evs1 := s.Drain()
		evs2 := r.Drain()
		if len(evs1) != len(evs2) {
			t.Fatalf("%+v: %d events vs %d", c, len(evs1), len(evs2))
		}
		for i := range evs1 {
			if a, b := evs1[i].AppendJSON(nil, c.Now, false), evs2[i].AppendJSON(nil, c.Now, false); !bytes.Equal(a, b) {
				t.Fatalf("event %s vs %s", a, b)
			}
		}
	}
	if dump(r) != dump(s) {
		t.Fatalf("trees diverged after the same commands")
	}
}

func TestSnapshotEmptyAndNil(t *testing.T) {
	s, err := RestoreStore(nil)
	if err != nil || s.Index() != 0 || s.Len() != 0 {
		t.Fatalf("nil data: %v %d %d", err, s.Index(), s.Len())
	}
	r, err := RestoreStore(NewStore().Snapshot())
	if err != nil || dump(r) != dump(NewStore()) {
		t.Fatalf("empty snapshot: %v", err)
	}
}

func TestSnapshotCorrupt(t *testing.T) {
	data := richStore(t).Snapshot()
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x40
		if _, err := RestoreStore(bad); err != ErrCorruptSnapshot {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for n := 0; n < len(data); n++ {
		if _, err := RestoreStore(data[:n]); err != ErrCorruptSnapshot {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := RestoreStore([]byte{}); err != ErrCorruptSnapshot {
		t.Fatalf("empty data: %v", err)
	}
}

// withCRC seals a hand-made body so that only the structural checks can
// reject it.
func withCRC(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, crcTable))
}

func TestSnapshotStructuralChecks(t *testing.T) {
	head := func(version byte) []byte {
		b := append([]byte(snapMagic), version, 5) // index 5
		return append(b, make([]byte, 15)...)      // counters
	}
	file := func(b []byte, name string) []byte {
		b = append(b, byte(len(name)))
		b = append(b, name...)
		return append(b, 0, 1, 1, 0, 1, 'v') // file, created 1, modified 1, permanent, value "v"
	}
	event := func(i uint64) []byte {
		return (&actors.Event{Action: actors.ActionSet, Index: i, Node: &actors.Node{Key: "/a", Value: "v"}}).AppendBinary(nil)
	}
	v1 := file(append(head(1), 1, 1), "a")
	v2 := func(events ...[]byte) []byte {
		b := append(file(append(head(2), 1, 1), "a"), byte(len(events)))
		for _, e := range events {
			b = append(b, e...)
		}
		return b
	}
	cases := map[string][]byte{
		"duplicate name":         file(file(append(head(1), 2, 2), "a"), "a"),
		"slash in name":          file(append(head(1), 1, 1), "a/b"),
		"dot name":               file(append(head(1), 1, 1), ".."),
		"count too high":         file(append(head(1), 2, 1), "a"),
		"trailing bytes":         append(v1, 0),
		"bad version":            file(append(append([]byte(snapMagic), 9, 5), append(make([]byte, 15), 1, 1)...), "a"),
		"events not at index":    v2(event(3), event(4)),
		"events with a gap":      v2(event(3), event(5)),
		"more events than index": v2(event(0), event(1), event(2), event(3), event(4), event(5)),
		"torn event":             v2(event(5)[:4]),
	}
	cases["v2 without events"] = append([]byte(nil), v1...)
	cases["v2 without events"][len(snapMagic)] = 2
	for name, body := range cases {
		if _, err := RestoreStore(withCRC(body)); err != ErrCorruptSnapshot {
			t.Errorf("%s: %v", name, err)
		}
	}
	if s, err := RestoreStore(withCRC(v1)); err != nil || s.Index() != 5 || s.get("/a").value != "v" || len(s.RecentEvents()) != 0 {
		t.Fatalf("well-formed version 1 snapshot: %v", err)
	}
	s, err := RestoreStore(withCRC(v2(event(4), event(5))))
	if err != nil || s.Index() != 5 || s.get("/a").value != "v" {
		t.Fatalf("well-formed version 2 snapshot: %v", err)
	}
	if evs := s.RecentEvents(); len(evs) != 2 || evs[0].Index != 4 || evs[1].Index != 5 {
		t.Fatalf("recent events %+v", evs)
	}
}

func TestSnapshotOrderChecks(t *testing.T) {
	head := append(append([]byte(snapMagic), 3, 5), make([]byte, 15)...)
	node := func(b []byte, depth byte, name string, isDir bool) []byte {
		b = append(b, depth, byte(len(name)))
		b = append(b, name...)
		if isDir {
			return append(b, 1, 1, 1, 0)
		}
		return append(b, 0, 1, 1, 0, 1, 'v')
	}
	body := func(count byte, f func(b []byte) []byte) []byte {
		return append(f(append(bytes.Clone(head), count)), 0)
	}
	cases := map[string][]byte{
		"siblings out of order": body(2, func(b []byte) []byte { return node(node(b, 1, "b", false), 1, "a", false) }),
		"siblings repeated":     body(2, func(b []byte) []byte { return node(node(b, 1, "a", false), 1, "a", false) }),
		"below a file":          body(2, func(b []byte) []byte { return node(node(b, 1, "a", false), 2, "b", false) }),
		"depth skipped":         body(2, func(b []byte) []byte { return node(node(b, 1, "a", true), 3, "b", false) }),
		"depth zero":            body(1, func(b []byte) []byte { return node(b, 0, "a", false) }),
		"back to an earlier name": body(3, func(b []byte) []byte {
			return node(node(node(b, 1, "b", true), 2, "x", false), 1, "a", false)
		}),
	}
	for name, b := range cases {
		if _, err := RestoreStore(withCRC(b)); err != ErrCorruptSnapshot {
			t.Errorf("%s: %v", name, err)
		}
	}
	ok := body(4, func(b []byte) []byte {
		return node(node(node(node(b, 1, "a", true), 2, "x", false), 2, "y", true), 1, "b", false)
	})
	s, err := RestoreStore(withCRC(ok))
	if err != nil || s.Len() != 4 || s.get("/a/y") == nil || !s.get("/a/y").isDir() || s.get("/b").value != "v" {
		t.Fatalf("well-formed version 3 snapshot: %v", err)
	}
	checkInvariants(t, s)
}

// A frozen state serializes to exactly the tree at its index, however much
// the store changed after it was taken: the same keys rewritten, whole
// directories deleted, new ones made, deadlines expired.
func TestFrozenIsTheStateAtItsIndex(t *testing.T) {
	s, ref := NewStore(), NewStore()
	s.KeepEvents(50)
	ref.KeepEvents(50)
	for i := range 3000 {
		c := set("/d"+strconv.Itoa(i%13)+"/k"+strconv.Itoa(i), strconv.Itoa(i))
		if i%5 == 0 {
			c = ttl(c, time.Duration(i%40)*time.Second)
		}
		mustApply(t, s, c)
		mustApply(t, ref, c)
	}
	f := s.Freeze()
	view := s.View()
	wantBody := ref.View().AppendGet(nil, ref.root, true, true, now)
	for i := range 3000 {
		switch i % 3 {
		case 0:
			mustApply(t, s, set("/d"+strconv.Itoa(i%13)+"/k"+strconv.Itoa(i), "new"))
		case 1:
			mustApply(t, s, set("/e"+strconv.Itoa(i%7)+"/k"+strconv.Itoa(i), "new"))
		default:
			s.Apply(with(del("/d"+strconv.Itoa(i%13)), func(c *actors.Command) { c.Recursive = true }))
		}
	}
	s.Expire(in(time.Hour))
	got, err := RestoreStore(f.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, got)
	if dump(got) != dump(ref) || !slices.Equal(got.Snapshot(), ref.Snapshot()) {
		t.Fatalf("the frozen state is not the tree at its index")
	}
	if body := view.AppendGet(nil, s.root, true, true, now); !bytes.Equal(body, wantBody) {
		t.Fatalf("the view changed after it was taken")
	}
}
