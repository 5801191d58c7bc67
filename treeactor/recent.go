package treeactor

import "github.com/etcdv2/server/actors"

// recent keeps the store's last events, as many as the watch hub's history
// holds, for the snapshot: a member restarted from it gives them back to
// the hub, whose watchers are then answered as etcd answers them (etcd keeps
// its watch history in its snapshot).
type recent struct {
	ring []*actors.Event
	head int // slot of the oldest
	n    int
}

// keep sets how many events are kept (0: none), keeping the newest of
// those held.
func (r *recent) keep(size int) {
	old := r.all()
	if len(old) > size {
		old = old[len(old)-size:]
	}
	r.ring, r.head, r.n = nil, 0, 0
	if size > 0 {
		r.ring = make([]*actors.Event, size)
	}
	for _, e := range old {
		r.add(e)
	}
}

func (r *recent) add(e *actors.Event) {
	size := len(r.ring)
	if size == 0 {
		return
	}
	if r.n < size {
		r.ring[(r.head+r.n)%size] = e
		r.n++
		return
	}
	r.ring[r.head] = e
	r.head = (r.head + 1) % size
}

// all returns the events held, oldest first.
func (r *recent) all() []*actors.Event {
	out := make([]*actors.Event, 0, r.n)
	for i := range r.n {
		out = append(out, r.ring[(r.head+i)%len(r.ring)])
	}
	return out
}

// KeepEvents sets how many of its last events the store keeps for its
// snapshot: the watch history's size.
func (s *Store) KeepEvents(n int) { s.recent.keep(n) }

// RecentEvents returns the events kept, oldest first.
func (s *Store) RecentEvents() []*actors.Event { return s.recent.all() }
