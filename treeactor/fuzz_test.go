package treeactor

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

var fuzzPaths = []string{
	"/a", "/a/b", "/a/b/c", "/b", "/_h", "/a/_x", "/c/d/e", "/", "a/../b", "/a//b/", "/_h/y", "/c",
	"/c/<é&\u2028>",
}

var fuzzValues = []string{"", "1", "2", "v", `"<&>"`, "\x00\xff\u2029"}

// FuzzStore decodes its input as a sequence of operations on a small key
// space, five bytes each (op, path, value, flags, clock step), and checks
// after every one the store's invariants, the index arithmetic, that a set
// is read back, that direct rendering matches actors.Node's, and that a
// snapshot restores to the same tree.
func FuzzStore(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1, 0, 0, 0, 1, 2, 0, 1, 8, 0, 0, 0, 0})
	f.Add([]byte{0, 2, 1, 4, 1, 7, 0, 0, 0, 90, 8, 7, 0, 3, 0})
	f.Add([]byte{0, 2, 1, 5, 0, 5, 0, 0, 1, 0, 5, 0, 0, 3, 0, 8, 7, 0, 3, 0})
	f.Add([]byte{1, 6, 1, 4, 0, 2, 3, 2, 0, 0, 2, 7, 0, 1, 0, 9, 0, 0, 0, 0})
	f.Add([]byte{0, 4, 1, 4, 0, 0, 10, 1, 0, 0, 3, 4, 0, 4, 0, 4, 4, 2, 0, 0, 6, 4, 1, 32, 0})
	f.Add([]byte{0, 0, 0, 1, 0, 3, 0, 0, 5, 0, 3, 0, 1, 1, 0, 7, 0, 0, 0, 60, 9, 0, 0, 0, 0})
	f.Add([]byte("set a value, update it, then expire everything at once!"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStore()
		s.SetJournal(true)
		clock := now
		for len(data) >= 5 {
			op, pi, vi, flags, step := data[0], data[1], data[2], data[3], data[4]
			data = data[5:]
			clock += int64(step) * int64(100*time.Millisecond)
			p := fuzzPaths[int(pi)%len(fuzzPaths)]
			v := fuzzValues[int(vi)%len(fuzzValues)]
			c := &actors.Command{
				Path: p, Value: v, Now: clock,
				Dir:       flags&1 != 0,
				Refresh:   flags&2 != 0,
				Recursive: flags&4 != 0,
			}
			if flags&8 != 0 {
				c.Expiration = clock + int64(flags>>4)*int64(time.Second)
			}
			switch op % 10 {
			case 0:
				c.Op = actors.OpSet
			case 1:
				c.Op = actors.OpCreate
			case 2:
				c.Op, c.Unique = actors.OpCreate, true
			case 3:
				c.Op = actors.OpUpdate
			case 4:
				c.Op, c.PrevValue, c.PrevIndex = actors.OpCAS, fuzzValues[int(flags>>4)%len(fuzzValues)], uint64(vi%8)
			case 5:
				c.Op = actors.OpDelete
			case 6:
				c.Op, c.PrevValue, c.PrevIndex = actors.OpCAD, v, uint64(flags>>4)
			case 7:
				c.Op = actors.OpExpire
			case 8:
				for _, rec := range []bool{false, true} {
					checkRender(t, s, p, rec, true, clock)
					checkRender(t, s, p, rec, false, clock)
				}
				continue
			case 9:
				checkRoundTrip(t, s)
				continue
			}
			before := s.Index()
			ev, err := s.Apply(c)
			evs := s.Drain()
			switch {
			case err != nil:
				if ev != nil || len(evs) != 0 || s.Index() != before {
					t.Fatalf("%+v failed (%v) but changed the store", c, err)
				}
			case c.Op == actors.OpExpire:
				if uint64(len(evs)) != s.Index()-before {
					t.Fatalf("expire: %d events for %d indices", len(evs), s.Index()-before)
				}
				for i, e := range evs {
					if e.Index != before+uint64(i)+1 || e.Action != actors.ActionExpire || s.get(e.Node.Key) != nil {
						t.Fatalf("expire event %+v", e)
					}
				}
				if len(s.ttl) > 0 && s.ttl[0].at <= clock {
					t.Fatalf("a due deadline survived the sweep")
				}
			default:
				if s.Index() != before+1 || ev.Index != s.Index() || len(evs) != 1 || evs[0] != ev {
					t.Fatalf("%+v: index %d -> %d, event %+v", c, before, s.Index(), ev)
				}
				n := s.get(ev.Node.Key)
				switch ev.Action {
				case actors.ActionDelete, actors.ActionCompareAndDelete:
					if n != nil || strings.HasPrefix(ev.Node.Key, "/") && s.get(ev.Node.Key+"/x") != nil {
						t.Fatalf("%s left %s", ev.Action, ev.Node.Key)
					}
				default:
					if n == nil || n.modified != ev.Index {
						t.Fatalf("%s did not write %s", ev.Action, ev.Node.Key)
					}
				}
				if c.Op == actors.OpSet && !c.Dir && !c.Refresh {
					b, gerr := s.AppendGet(nil, ev.Node.Key, false, false, clock)
					want := `"value":` + string(actors.AppendJSONString(nil, v)) + `,`
					if gerr != nil || !bytes.Contains(b, []byte(want)) {
						t.Fatalf("get after set %s=%q: %s %v", ev.Node.Key, v, b, gerr)
					}
				}
			}
			checkInvariants(t, s)
		}
		checkRender(t, s, "/", true, true, clock)
		checkRoundTrip(t, s)
	})
}

func checkRoundTrip(t *testing.T, s *Store) {
	t.Helper()
	data := s.Snapshot()
	r, err := RestoreStore(data)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	checkInvariants(t, r)
	if dump(r) != dump(s) || !bytes.Equal(r.Snapshot(), data) {
		t.Fatalf("snapshot round trip differs")
	}
}
