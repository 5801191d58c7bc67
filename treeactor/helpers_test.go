package treeactor

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

// now is the clock every test command carries: 2026-01-01T00:00:00Z.
const now = int64(1767225600) * int64(time.Second)

func in(d time.Duration) int64 { return now + int64(d) }

func cmd(op actors.Op, p string) *actors.Command {
	return &actors.Command{Op: op, Path: p, Now: now}
}

func set(p, v string) *actors.Command {
	c := cmd(actors.OpSet, p)
	c.Value = v
	return c
}

func with(c *actors.Command, f func(c *actors.Command)) *actors.Command {
	f(c)
	return c
}

func ttl(c *actors.Command, d time.Duration) *actors.Command {
	c.Expiration = in(d)
	return c
}

func dir(c *actors.Command) *actors.Command {
	c.Dir = true
	return c
}

func refresh(c *actors.Command) *actors.Command {
	c.Refresh = true
	return c
}

func create(p, v string) *actors.Command {
	c := cmd(actors.OpCreate, p)
	c.Value = v
	return c
}

func post(p, v string) *actors.Command {
	c := create(p, v)
	c.Unique = true
	return c
}

func update(p, v string) *actors.Command {
	c := cmd(actors.OpUpdate, p)
	c.Value = v
	return c
}

func cas(p, v, prevValue string, prevIndex uint64) *actors.Command {
	c := cmd(actors.OpCAS, p)
	c.Value, c.PrevValue, c.PrevIndex = v, prevValue, prevIndex
	return c
}

func del(p string) *actors.Command { return cmd(actors.OpDelete, p) }

func cad(p, prevValue string, prevIndex uint64) *actors.Command {
	c := cmd(actors.OpCAD, p)
	c.PrevValue, c.PrevIndex = prevValue, prevIndex
	return c
}

func expire(at int64) *actors.Command {
	return &actors.Command{Op: actors.OpExpire, Now: at}
}

// renderEvent renders an event as a client would see it, at the command's
// clock, and checks that the node of a delete, compareAndDelete or expire
// carries nothing beyond what etcd shows.
func renderEvent(t *testing.T, ev *actors.Event, at int64) string {
	t.Helper()
	switch ev.Action {
	case actors.ActionDelete, actors.ActionCompareAndDelete, actors.ActionExpire:
		if ev.Node.Value != "" || ev.Node.Expiration != 0 || ev.Node.Nodes != nil {
			t.Fatalf("%s event node carries more than etcd's: %+v", ev.Action, ev.Node)
		}
	}
	return string(ev.AppendJSON(nil, at, false))
}

// step is one operation on a store and what etcd answers: the event or error
// JSON (for an expire sweep, every event it produced, one per line) and the
// etcd index after it.
type step struct {
	name    string
	c       *actors.Command
	get     *actors.Read
	want    string
	index   uint64
	refresh bool // the write's event is a refresh
}

func read(p string, recursive, sorted bool) *actors.Read {
	return &actors.Read{Path: p, Recursive: recursive, Sorted: sorted, Now: now}
}

// runSteps runs the steps and returns the tree's earliest deadline after
// each of them.
func runSteps(t *testing.T, s *Store, steps []step) []int64 {
	t.Helper()
	s.SetJournal(true)
	var deadlines []int64
	for i, st := range steps {
		name := st.name
		if name == "" {
			name = strings.SplitN(st.want, "\n", 2)[0]
		}
		before := s.NextDeadline()
		got := apply(t, s, st)
		deadlines = append(deadlines, s.NextDeadline())
		if (st.get != nil || strings.HasPrefix(got, `{"errorCode"`)) && s.NextDeadline() != before {
			t.Fatalf("step %d (%s): a read or a failed write moved the next deadline", i, name)
		}
		if got != st.want {
			t.Fatalf("step %d (%s):\n got %s\nwant %s", i, name, got, st.want)
		}
		if s.Index() != st.index {
			t.Fatalf("step %d (%s): index %d, want %d", i, name, s.Index(), st.index)
		}
	}
	return deadlines
}

func apply(t *testing.T, s *Store, st step) string {
	t.Helper()
	if st.get != nil {
		before := s.Index()
		b, err := s.AppendGet(nil, st.get.Path, st.get.Recursive, st.get.Sorted, st.get.Now)
		if s.Index() != before {
			t.Fatalf("a get moved the index")
		}
		if err != nil {
			return strings.TrimSuffix(string(err.AppendJSON(nil)), "\n")
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	before := s.Index()
	ev, err := s.Apply(st.c)
	evs := s.Drain()
	if err != nil {
		if ev != nil || len(evs) != 0 || s.Index() != before {
			t.Fatalf("a failed write changed something: %v %v %d", ev, evs, s.Index())
		}
		return strings.TrimSuffix(string(err.AppendJSON(nil)), "\n")
	}
	if st.c.Op != actors.OpExpire {
		if len(evs) != 1 || evs[0] != ev || ev.Index != s.Index() || s.Index() != before+1 {
			t.Fatalf("a write must record its one event under the next index: %v %v", ev, evs)
		}
		if ev.Refresh != st.refresh {
			t.Fatalf("event refresh flag %v, want %v", ev.Refresh, st.refresh)
		}
	} else if uint64(len(evs)) != s.Index()-before {
		t.Fatalf("an expire sweep must take one index per event")
	}
	var lines []string
	for _, e := range evs {
		lines = append(lines, strings.TrimSuffix(renderEvent(t, e, st.c.Now), "\n"))
	}
	return strings.Join(lines, "\n")
}
