package treeactor

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/etcdv2/server/actors"
)

// WriteTo streams exactly the bytes of the in-memory image, whatever the
// chunk size, so a backup restores as a raft snapshot does.
func TestFrozenWriteToIsTheImage(t *testing.T) {
	s := richStore(t)
	for i := range 300 {
		s.Apply(set(fmt.Sprintf("/many/k%03d", i), "value of some length"))
	}
	want := s.Snapshot()
	defer func(c int) { streamChunk = c }(streamChunk)
	for _, chunk := range []int{1, 7, 100, 64 << 10} {
		streamChunk = chunk
		var buf bytes.Buffer
		n, err := s.Freeze().WriteTo(&buf)
		if err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("chunk %d: wrote %d bytes (%v), want the %d of Snapshot", chunk, n, err, len(want))
		}
	}
	got, err := RestoreStore(want)
	if err != nil || got.Index() != s.Index() || got.Len() != s.Len() {
		t.Fatalf("restored %v: index %d len %d, want %d %d", err, got.Index(), got.Len(), s.Index(), s.Len())
	}
}

type failAfter struct{ left int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errors.New("gone")
	}
	f.left--
	return len(p), nil
}

// A writer that fails (a client gone) stops the serialization with its error.
func TestFrozenWriteToStopsOnError(t *testing.T) {
	s := NewStore()
	for i := range 100 {
		s.Apply(set(fmt.Sprintf("/k%03d", i), "v"))
	}
	defer func(c int) { streamChunk = c }(streamChunk)
	streamChunk = 16
	w := &failAfter{left: 2}
	if _, err := s.Freeze().WriteTo(w); err == nil || err.Error() != "gone" {
		t.Fatalf("WriteTo to a failing writer: %v", err)
	}
}

// A backup read answers with the whole tree frozen at the read's etcd
// index, counts no get, and later writes do not show in it.
func TestActorAnswersBackupRead(t *testing.T) {
	r := newRig(t)
	r.sys.Root.Send(r.tree, &actors.Restore{Index: 1, Term: 1})
	w := waiter()
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{
		{Index: 2, Term: 1, Cmd: set("/a", "1")},
		{Index: 3, Term: 1, Cmd: set("/_h", "hidden")},
		{Index: 4, Term: 1, Cmd: set("/d/k", "2"), Waiter: w},
	}})
	recv(t, w.Done)
	rd := &actors.Read{Path: "/", Backup: true, Done: make(chan *actors.Read, 1)}
	r.sys.Root.Send(r.tree, rd)
	got := recv(t, rd.Done)
	if got.Err != nil || got.Image == nil || got.View != nil || got.EtcdIndex != 3 || got.RaftIndex != 4 || got.RaftTerm != 1 {
		t.Fatalf("backup read: err %v image %v view %v index %d raft %d/%d", got.Err, got.Image, got.View, got.EtcdIndex, got.RaftIndex, got.RaftTerm)
	}
	w = waiter()
	r.sys.Root.Send(r.tree, &actors.Committed{Entries: []actors.Entry{{Index: 5, Term: 1, Cmd: set("/later", "x"), Waiter: w}}})
	recv(t, w.Done)
	var buf bytes.Buffer
	if _, err := got.Image.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := RestoreStore(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s.Index() != 3 || s.Len() != 4 || s.Stats().GetSuccess != 0 {
		t.Fatalf("image: index %d, %d keys, %d gets; want 3, 4 (/a /_h /d /d/k), 0", s.Index(), s.Len(), s.Stats().GetSuccess)
	}
	if _, err := s.Find("/later", false); err == nil {
		t.Fatal("a write applied after the backup read is in its image")
	}
}
