package actors

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestCommandRoundTrip(t *testing.T) {
	in := Command{Op: OpCAS, Dir: true, Unique: true, Refresh: true, Recursive: true, ReqID: 1 << 60,
		Path: "/a/ünï", Value: "line1\nline2", PrevValue: "old", PrevIndex: 42,
		Expiration: time.Date(2026, 11, 25, 0, 0, 0, 5, time.UTC).UnixNano(), Now: -7}
	enc := in.AppendEncoded(nil)
	out, err := DecodeCommand(enc)
	if err != nil || *out != in {
		t.Fatalf("round trip: %+v %v, want %+v", out, err, in)
	}
	if PeekReqID(enc) != in.ReqID {
		t.Fatalf("PeekReqID %d", PeekReqID(enc))
	}
	for cut := 0; cut < len(enc); cut++ {
		if _, err := DecodeCommand(enc[:cut]); err == nil {
			t.Fatalf("a command cut to %d bytes decoded", cut)
		}
	}
	for _, op := range []byte{0, byte(opLimit), 255} {
		bad := append([]byte{op}, enc[1:]...)
		if _, err := DecodeCommand(bad); !errors.Is(err, ErrUnknownOp) {
			t.Fatalf("op %d: %v", op, err)
		}
	}
}

// Strings render exactly as encoding/json renders them, which is what etcd
// sends.
func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "<a>&", "\n\r\t\b\f\x00\x1f\x7f", "ünïcødé ✓",
		"bad\xffutf8\xc3", "\u2028\u2029", "emoji 😀"} {
		want, _ := json.Marshal(s)
		if got := AppendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s want %s", s, got, want)
		}
	}
}

func TestTTLIsCeilingOfRemainingTime(t *testing.T) {
	const now = int64(1_000_000_000_000)
	for _, c := range []struct {
		exp  int64
		want int64
	}{{now + 5e9, 5}, {now + 4e9 + 1, 5}, {now + 1, 1}, {now, 0}, {now - 3e9, 0}} {
		if got := TTLAt(c.exp, now); got != c.want {
			t.Errorf("TTLAt(now%+d) = %d, want %d", c.exp-now, got, c.want)
		}
	}
}

func TestErrorAndEventJSON(t *testing.T) {
	e := NewError(EcodeTestFailed, "[a != b]", 9)
	if got := string(e.AppendJSON(nil)); got != `{"errorCode":101,"message":"Compare failed","cause":"[a != b]","index":9}`+"\n" || e.Status() != 412 {
		t.Fatalf("error %s %d", got, e.Status())
	}
	if got := string(NewError(EcodeValueRequired, "", 0).AppendJSON(nil)); got != `{"errorCode":200,"message":"Value is Required in POST form","index":0}`+"\n" {
		t.Fatalf("error without cause %s", got)
	}
	exp := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC).UnixNano()
	ev := &Event{Action: ActionDelete, Index: 7,
		Node:     &Node{Key: "/k", ModifiedIndex: 7, CreatedIndex: 3},
		PrevNode: &Node{Key: "/k", Value: "v", Expiration: exp, ModifiedIndex: 3, CreatedIndex: 3}}
	want := `{"action":"delete","node":{"key":"/k","modifiedIndex":7,"createdIndex":3},"prevNode":{"key":"/k","value":"v","expiration":"2026-01-02T03:04:05.0000006Z","ttl":2,"modifiedIndex":3,"createdIndex":3}}` + "\n"
	if got := string(ev.AppendJSON(nil, exp-1500*int64(time.Millisecond), false)); got != want {
		t.Fatalf("event\n got %s\nwant %s", got, want)
	}
	set := &Event{Action: ActionSet, Node: &Node{Key: "/k", Value: "", ModifiedIndex: 8, CreatedIndex: 8}}
	if got := string(set.AppendJSON(nil, 0, false)); got != `{"action":"set","node":{"key":"/k","value":"","modifiedIndex":8,"createdIndex":8}}`+"\n" || !set.Created() {
		t.Fatalf("set %s", got)
	}
	if got := string(set.AppendJSON(nil, 0, true)); got != `{"action":"set"}`+"\n" {
		t.Fatalf("noValueOnSuccess %s", got)
	}
	root := &Node{Key: "/", Dir: true, Nodes: []*Node{{Key: "/d", Dir: true, ModifiedIndex: 2, CreatedIndex: 2}}}
	if got := string(root.AppendJSON(nil, 0)); got != `{"dir":true,"nodes":[{"key":"/d","dir":true,"modifiedIndex":2,"createdIndex":2}]}` {
		t.Fatalf("root %s", got)
	}
}
