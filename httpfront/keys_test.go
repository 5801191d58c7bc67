package httpfront

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/actors"
)

func TestWriteCommandMapping(t *testing.T) {
	ttl5 := testNow + 5*int64(time.Second)
	cases := []struct {
		method, target, ctype, body string
		want                        actors.Command
	}{
		{"PUT", "/v2/keys/a", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/a", Value: "1"}},
		{"PUT", "/v2/keys/a?prevExist=true", formType, "value=1", actors.Command{Op: actors.OpUpdate, Path: "/a", Value: "1"}},
		{"PUT", "/v2/keys/a?prevExist=true&prevValue=x", formType, "value=1", actors.Command{Op: actors.OpCAS, Path: "/a", Value: "1", PrevValue: "x"}},
		{"PUT", "/v2/keys/a?prevExist=true&prevIndex=3", "", "", actors.Command{Op: actors.OpCAS, Path: "/a", PrevIndex: 3}},
		{"PUT", "/v2/keys/a?prevExist=false", formType, "value=1", actors.Command{Op: actors.OpCreate, Path: "/a", Value: "1"}},
		{"PUT", "/v2/keys/a?prevExist=false&prevValue=x&prevIndex=2&refresh=true&ttl=5", "", "", actors.Command{Op: actors.OpCreate, Path: "/a", Expiration: ttl5}},
		{"PUT", "/v2/keys/a?prevValue=x", formType, "value=2", actors.Command{Op: actors.OpCAS, Path: "/a", Value: "2", PrevValue: "x"}},
		{"PUT", "/v2/keys/a?prevIndex=4", formType, "value=2", actors.Command{Op: actors.OpCAS, Path: "/a", Value: "2", PrevIndex: 4}},
		{"PUT", "/v2/keys/a?prevIndex=0", formType, "value=2", actors.Command{Op: actors.OpSet, Path: "/a", Value: "2"}},
		{"PUT", "/v2/keys/d?dir=true", "", "", actors.Command{Op: actors.OpSet, Path: "/d", Dir: true}},
		{"PUT", "/v2/keys/d?dir=true&value=x", "", "", actors.Command{Op: actors.OpSet, Path: "/d", Dir: true, Value: "x"}},
		{"PUT", "/v2/keys/a", formType, "value=1&ttl=5", actors.Command{Op: actors.OpSet, Path: "/a", Value: "1", Expiration: ttl5}},
		{"PUT", "/v2/keys/a?ttl=", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/a", Value: "1"}},
		{"PUT", "/v2/keys/a?ttl=0", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/a", Value: "1", Expiration: testNow}},
		{"PUT", "/v2/keys/a?refresh=true", formType, "ttl=5", actors.Command{Op: actors.OpSet, Path: "/a", Refresh: true, Expiration: ttl5}},
		{"PUT", "/v2/keys/a?refresh=false", formType, "value=3", actors.Command{Op: actors.OpSet, Path: "/a", Value: "3"}},
		{"PUT", "/v2/keys/a?prevExist=true&refresh=true&ttl=5", "", "", actors.Command{Op: actors.OpUpdate, Path: "/a", Refresh: true, Expiration: ttl5}},
		{"PUT", "/v2/keys/a?prevValue=v&refresh=true&ttl=5", "", "", actors.Command{Op: actors.OpCAS, Path: "/a", PrevValue: "v", Refresh: true, Expiration: ttl5}},
		{"POST", "/v2/keys/q", formType, "value=x", actors.Command{Op: actors.OpCreate, Unique: true, Path: "/q", Value: "x"}},
		{"POST", "/v2/keys/q?dir=true&ttl=5", "", "", actors.Command{Op: actors.OpCreate, Unique: true, Dir: true, Path: "/q", Expiration: ttl5}},
		{"POST", "/v2/keys", formType, "value=x", actors.Command{Op: actors.OpCreate, Unique: true, Path: "/", Value: "x"}},
		{"POST", "/v2/keys/q?refresh=true&ttl=5", "", "", actors.Command{Op: actors.OpCreate, Unique: true, Path: "/q", Expiration: ttl5}},
		{"DELETE", "/v2/keys/a", "", "", actors.Command{Op: actors.OpDelete, Path: "/a"}},
		{"DELETE", "/v2/keys/d?dir=true&recursive=true", "", "", actors.Command{Op: actors.OpDelete, Path: "/d", Dir: true, Recursive: true}},
		{"DELETE", "/v2/keys/a?prevValue=x", "", "", actors.Command{Op: actors.OpCAD, Path: "/a", PrevValue: "x"}},
		{"DELETE", "/v2/keys/a?prevIndex=5&recursive=true&dir=true&ttl=5", "", "", actors.Command{Op: actors.OpCAD, Path: "/a", PrevIndex: 5}},
		{"DELETE", "/v2/keys/a", formType, "prevValue=x", actors.Command{Op: actors.OpDelete, Path: "/a"}},
		{"DELETE", "/v2/keys/", "", "", actors.Command{Op: actors.OpDelete, Path: "/"}},
		// Body values come first; the query only adds.
		{"PUT", "/v2/keys/a?value=q&ttl=5", formType, "value=b", actors.Command{Op: actors.OpSet, Path: "/a", Value: "b", Expiration: ttl5}},
		{"PUT", "/v2/keys/a?value=q", formType, "value=", actors.Command{Op: actors.OpSet, Path: "/a"}},
		{"PUT", "/v2/keys/a?value=q&value=r", "", "", actors.Command{Op: actors.OpSet, Path: "/a", Value: "q"}},
		// Without a form content type the body is not read.
		{"PUT", "/v2/keys/a", "", "value=5", actors.Command{Op: actors.OpSet, Path: "/a"}},
		{"PUT", "/v2/keys/a", "text/plain", "value=5", actors.Command{Op: actors.OpSet, Path: "/a"}},
		{"PUT", "/v2/keys/a", "multipart/form-data; boundary=x", "value=5", actors.Command{Op: actors.OpSet, Path: "/a"}},
		{"PUT", "/v2/keys/a", "Application/X-WWW-Form-Urlencoded; charset=utf-8", "value=5", actors.Command{Op: actors.OpSet, Path: "/a", Value: "5"}},
		// Decoding: '+' is a space in forms, not in paths.
		{"PUT", "/v2/keys/a+b", formType, "value=a+b%2B%C3%A9", actors.Command{Op: actors.OpSet, Path: "/a+b", Value: "a b+é"}},
		{"PUT", "/v2/keys/a/", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/a", Value: "1"}},
		{"PUT", "/v2/keys/%C3%A9", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/é", Value: "1"}},
		{"PUT", "/v2/keys/a%2Fb", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/a/b", Value: "1"}},
		{"PUT", "/v2/keys/a%2F%2Fb%2F", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/a/b", Value: "1"}},
		{"PUT", "/v2/keys/a/%2e%2e/b", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/b", Value: "1"}},
		{"PUT", "/v2/keys/a/%2e", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/a", Value: "1"}},
		{"PUT", "/v2/key%73/k", formType, "value=1", actors.Command{Op: actors.OpSet, Path: "/k", Value: "1"}},
		{"PUT", "/v2/keys/_hidden", formType, "rec%75rsive=true&value=1", actors.Command{Op: actors.OpSet, Path: "/_hidden", Value: "1", Recursive: true}},
	}
	h := newHarness(t)
	for _, c := range cases {
		h.forget()
		hdrs := map[string]string{}
		if c.ctype != "" {
			hdrs["Content-Type"] = c.ctype
		}
		r := h.do(c.method, c.target, hdrs, c.body)
		what := c.method + " " + c.target + " " + c.body
		if r.status != 201 {
			t.Errorf("%s: status %d (%s)", what, r.status, r.body)
		}
		got := h.proposals()
		c.want.Now = testNow
		if len(got) != 1 || !reflect.DeepEqual(got[0], c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, c.want)
		}
		if n := len(reads(h.tree)); n != 0 {
			t.Errorf("%s: the tree got %d reads", what, n)
		}
	}
}

func TestReadMapping(t *testing.T) {
	cases := []struct {
		method, target string
		want           actors.Read
		viaRaft        bool
	}{
		{"GET", "/v2/keys/a", actors.Read{Path: "/a"}, false},
		{"GET", "/v2/keys", actors.Read{Path: "/"}, false},
		{"GET", "/v2/keys/", actors.Read{Path: "/"}, false},
		{"GET", "/v2/keys/d?recursive=true&sorted=1", actors.Read{Path: "/d", Recursive: true, Sorted: true}, false},
		{"GET", "/v2/keys/d?recursive=false&sorted=false&quorum=false", actors.Read{Path: "/d"}, false},
		{"GET", "/v2/keys/a?quorum=true", actors.Read{Path: "/a", Quorum: true}, true},
		{"GET", "/v2/keys/a?quorum=true&wait=true&stream=true", actors.Read{Path: "/a", Quorum: true}, true},
		{"GET", "/v2/keys/a?waitIndex=5&stream=true", actors.Read{Path: "/a"}, false},
		{"HEAD", "/v2/keys/a?quorum=true&recursive=true", actors.Read{Path: "/a", Recursive: true}, false},
		{"GET", "/v2/keys/a?value=x&ttl=5&prevExist=true&refresh=false", actors.Read{Path: "/a"}, false},
	}
	for _, c := range cases {
		h := newHarness(t, withRead(func(r *actors.Read) {
			r.View = bodyView(`{"action":"get","node":{"key":"/a","value":"v","modifiedIndex":5,"createdIndex":5}}` + "\n")
			r.EtcdIndex, r.RaftIndex, r.RaftTerm = 7, 12, 2
		}))
		r := h.do(c.method, c.target, nil, "")
		what := c.method + " " + c.target
		body := `{"action":"get","node":{"key":"/a","value":"v","modifiedIndex":5,"createdIndex":5}}` + "\n"
		if c.method == "HEAD" {
			body = ""
		}
		expect(t, what, r, 200, body, map[string]string{
			"Content-Type": appJSON, "X-Etcd-Index": "7", "X-Raft-Index": "12", "X-Raft-Term": "2",
			"X-Etcd-Cluster-Id": "8c69a9a8e935cdcd", "Content-Length": "84",
		})
		got := reads(h.tree)
		c.want.Now = testNow
		if len(got) != 1 || !reflect.DeepEqual(*got[0], c.want) {
			t.Errorf("%s: tree got %+v, want %+v", what, got, c.want)
		}
		if n := len(reads(h.raft)); (n == 1) != c.viaRaft || n > 1 {
			t.Errorf("%s: raft got %d reads, via raft %v", what, n, c.viaRaft)
		}
		if len(h.proposals()) != 0 || len(h.hub.all()) != 0 {
			t.Errorf("%s: unexpected proposals or watches", what)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	type tc struct {
		method, target, ctype, body string
		code                        int
		cause                       string
	}
	cases := []tc{
		{"GET", "/v2/keys/a?prevIndex=x&waitIndex=y&recursive=z", "", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?waitIndex=y&recursive=z", "", "", 203, `invalid value for "waitIndex"`},
		{"GET", "/v2/keys/a?recursive=z&sorted=y", "", "", 209, `invalid value for "recursive"`},
		{"GET", "/v2/keys/a?sorted=y&wait=q", "", "", 209, `invalid value for "sorted"`},
		{"GET", "/v2/keys/a?wait=q&dir=1x", "", "", 209, `invalid value for "wait"`},
		{"GET", "/v2/keys/a?dir=1x&quorum=n", "", "", 209, `invalid value for "dir"`},
		{"GET", "/v2/keys/a?quorum=n&stream=k", "", "", 209, `invalid value for "quorum"`},
		{"GET", "/v2/keys/a?stream=k&prevValue=", "", "", 209, `invalid value for "stream"`},
		{"PUT", "/v2/keys/a?wait=true&prevValue=", "", "", 209, `"wait" can only be used with GET requests`},
		{"HEAD", "/v2/keys/a?wait=true", "", "", 209, `"wait" can only be used with GET requests`},
		{"DELETE", "/v2/keys/a?wait=1", "", "", 209, `"wait" can only be used with GET requests`},
		{"PUT", "/v2/keys/a?prevValue=&noValueOnSuccess=x", "", "", 201, `"prevValue" cannot be empty`},
		{"GET", "/v2/keys/a?prevValue=", "", "", 201, `"prevValue" cannot be empty`},
		{"PUT", "/v2/keys/a?noValueOnSuccess=x&ttl=x", "", "", 209, `invalid value for "noValueOnSuccess"`},
		{"PUT", "/v2/keys/a?ttl=x&prevExist=x", "", "", 202, `invalid value for "ttl"`},
		{"PUT", "/v2/keys/a?ttl=-1", "", "", 202, `invalid value for "ttl"`},
		{"PUT", "/v2/keys/a?ttl=18446744073709551616", "", "", 202, `invalid value for "ttl"`},
		{"PUT", "/v2/keys/a?prevExist=x&refresh=x", "", "", 209, "invalid value for prevExist"},
		{"PUT", "/v2/keys/a?prevExist=", "", "", 209, "invalid value for prevExist"},
		{"PUT", "/v2/keys/a?refresh=x", "", "", 209, "invalid value for refresh"},
		{"PUT", "/v2/keys/a?refresh=true&value=1", "", "", 211, "A value was provided on a refresh"},
		{"PUT", "/v2/keys/a?refresh=true&value=1&ttl=5", "", "", 211, "A value was provided on a refresh"},
		{"PUT", "/v2/keys/a?refresh=true", "", "", 212, "No TTL value set"},
		{"PUT", "/v2/keys/a?refresh=true&ttl=", "", "", 212, "No TTL value set"},
		{"POST", "/v2/keys/a?refresh=t", formType, "value=", 212, "No TTL value set"},
		{"DELETE", "/v2/keys/a?refresh=1", "", "", 212, "No TTL value set"},
		{"GET", "/v2/keys/a?recursive=", "", "", 209, `invalid value for "recursive"`},
		{"GET", "/v2/keys/a?recursive=tRuE", "", "", 209, `invalid value for "recursive"`},
		{"GET", "/v2/keys/a?prevIndex=-1", "", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?prevIndex=", "", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?prevIndex=18446744073709551616", "", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?prevIndex=+5", "", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?prevIndex=0x5", "", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?prevIndex=1_0", "", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?rec%75rsive=x", "", "", 209, `invalid value for "recursive"`},
		{"GET", "/v2/keys/a?recursive=x&recursive=true", "", "", 209, `invalid value for "recursive"`},
		// Form syntax: ParseForm's error texts and precedence.
		{"GET", "/v2/keys/a?recursive=%zz", "", "", 210, `invalid URL escape "%zz"`},
		{"GET", "/v2/keys/a?a=%zz&b;c", "", "", 210, "invalid semicolon separator in query"},
		{"GET", "/v2/keys/a?b;c&a=%zz", "", "", 210, "invalid semicolon separator in query"},
		{"GET", "/v2/keys/a?recursive=true;sorted=true", "", "", 210, "invalid semicolon separator in query"},
		{"GET", "/v2/keys/a?%zz=1&a=%yy", "", "", 210, `invalid URL escape "%zz"`},
		{"GET", "/v2/keys/a?a=%4", "", "", 210, `invalid URL escape "%4"`},
		{"GET", "/v2/keys/a?a=%", "", "", 210, `invalid URL escape "%"`},
		{"GET", "/v2/keys/a?a=%e9%zz", "", "", 210, `invalid URL escape "%zz"`},
		{"GET", "/v2/keys/a?a=%G1", "", "", 210, `invalid URL escape "%G1"`},
		{"GET", "/v2/keys/a?a=%\xff1", "", "", 210, `invalid URL escape "%\xff1"`},
		{"PUT", "/v2/keys/b", formType, "value=%zz", 210, `invalid URL escape "%zz"`},
		{"PUT", "/v2/keys/b?x=%zz", formType, "value=%yy", 210, `invalid URL escape "%yy"`},
		{"PUT", "/v2/keys/b?x=%zz", formType, "value=1", 210, `invalid URL escape "%zz"`},
		{"PUT", "/v2/keys/b?x=%zz", formType, "a;b", 210, "invalid semicolon separator in query"},
		{"PUT", "/v2/keys/a", "text/plain; foo", "value=1", 210, "mime: invalid media parameter"},
		{"PUT", "/v2/keys/a", formType + "; foo", "value=1", 210, "mime: invalid media parameter"},
		{"PUT", "/v2/keys/a", "text/", "value=1", 210, "mime: expected token after slash"},
		{"PUT", "/v2/keys/a", "text/plain/x", "value=1", 210, "mime: unexpected content after media subtype"},
		{"POST", "/v2/keys/a", ";;", "value=1", 210, "mime: no media type"},
		{"PUT", "/v2/keys/b", formType, "prevValue=&value=1", 201, `"prevValue" cannot be empty`},
		{"PUT", "/v2/keys/b?prevValue=x", formType, "prevValue=", 201, `"prevValue" cannot be empty`},
		{"PUT", "/v2/keys/b?refresh=true&value=", formType, "ttl=5&value=x", 211, "A value was provided on a refresh"},
		{"PUT", "/v2/keys/b?recursive=x", formType, "recursive=true", 0, ""},
		// Bodies of GET and DELETE are never parsed.
		{"GET", "/v2/keys/b", formType, "recursive=x&value=%zz", 0, ""},
		{"DELETE", "/v2/keys/b", formType, "recursive=x&value=%zz", 0, ""},
	}
	many := strings.Repeat("a=1&", 10000) + "a=1"
	cases = append(cases, tc{"PUT", "/v2/keys/b?a=%zz", formType, many, 210, "number of URL query parameters exceeded limit"})
	h := newHarness(t)
	for _, c := range cases {
		h.forget()
		hdrs := map[string]string{}
		if c.ctype != "" {
			hdrs["Content-Type"] = c.ctype
		}
		r := h.do(c.method, c.target, hdrs, c.body)
		what := c.method + " " + c.target + " " + c.ctype + " " + c.body
		if len(what) > 120 {
			what = what[:120]
		}
		if c.code == 0 {
			if r.status == 400 {
				t.Errorf("%s: status %d (%s), want no parse error", what, r.status, r.body)
			}
			continue
		}
		e := actors.NewError(c.code, c.cause, 0)
		body := string(e.AppendJSON(nil))
		if c.method == "HEAD" {
			body = ""
		}
		expect(t, what, r, 400, body, map[string]string{
			"Content-Type": appJSON, "X-Etcd-Index": "0", "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd",
			"X-Raft-Index": "", "X-Raft-Term": "", "Access-Control-Allow-Origin": "*",
		})
		if n := len(h.raft.all()) + len(h.tree.all()) + len(h.hub.all()); n != 0 {
			t.Errorf("%s: %d messages reached the actors", what, n)
		}
	}
}

func TestWriteResponses(t *testing.T) {
	prev := &actors.Node{Key: "/a", Value: "old", ModifiedIndex: 5, CreatedIndex: 5}
	node := &actors.Node{Key: "/a", Value: "new", ModifiedIndex: 8, CreatedIndex: 8, Expiration: testNow + 5*int64(time.Second)}
	cases := []struct {
		name, target string
		ev           *actors.Event
		err          *actors.Error
		status       int
		body         string
	}{
		{"set new", "/v2/keys/a", &actors.Event{Action: "set", Node: node, Index: 8, At: testNow}, nil, 201,
			`{"action":"set","node":{"key":"/a","value":"new","expiration":"2023-11-14T22:13:25.123456789Z","ttl":5,"modifiedIndex":8,"createdIndex":8}}` + "\n"},
		{"set over", "/v2/keys/a", &actors.Event{Action: "set", Node: node, PrevNode: prev, Index: 8, At: testNow}, nil, 200,
			`{"action":"set","node":{"key":"/a","value":"new","expiration":"2023-11-14T22:13:25.123456789Z","ttl":5,"modifiedIndex":8,"createdIndex":8},"prevNode":{"key":"/a","value":"old","modifiedIndex":5,"createdIndex":5}}` + "\n"},
		{"create", "/v2/keys/a?prevExist=false", &actors.Event{Action: "create", Node: node, Index: 8, At: testNow}, nil, 201, ""},
		{"update", "/v2/keys/a?prevExist=true", &actors.Event{Action: "update", Node: node, PrevNode: prev, Index: 8, At: testNow}, nil, 200, ""},
		{"no value set", "/v2/keys/a?noValueOnSuccess=true", &actors.Event{Action: "set", Node: node, PrevNode: prev, Index: 8, At: testNow}, nil, 200, `{"action":"set"}` + "\n"},
		{"no value create", "/v2/keys/a?noValueOnSuccess=true&prevExist=false", &actors.Event{Action: "create", Node: node, Index: 8, At: testNow}, nil, 201, `{"action":"create"}` + "\n"},
		{"no value cas", "/v2/keys/a?noValueOnSuccess=true&prevValue=old", &actors.Event{Action: "compareAndSwap", Node: node, PrevNode: prev, Index: 8, At: testNow}, nil, 200, `{"action":"compareAndSwap"}` + "\n"},
		{"error", "/v2/keys/a?prevValue=zz", nil, actors.NewError(actors.EcodeTestFailed, "[zz != old]", 9), 412,
			`{"errorCode":101,"message":"Compare failed","cause":"[zz != old]","index":9}` + "\n"},
		{"no event", "/v2/keys/a", nil, nil, 500, `{"errorCode":300,"message":"Raft Internal Error","cause":"received response with no Event/Watcher","index":0}` + "\n"},
	}
	for _, c := range cases {
		h := newHarness(t, withPropose(func(p *actors.Propose) { p.Event, p.Err = c.ev, c.err }))
		r := h.do("PUT", c.target, formHdr, "value=new")
		hdrs := map[string]string{"Content-Type": appJSON, "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd"}
		switch {
		case c.ev != nil:
			hdrs["X-Etcd-Index"], hdrs["X-Raft-Index"], hdrs["X-Raft-Term"] = "8", "11", "2"
		case c.err != nil:
			hdrs["X-Etcd-Index"], hdrs["X-Raft-Index"], hdrs["X-Raft-Term"] = "9", "", ""
		default:
			hdrs["X-Etcd-Index"] = "0"
		}
		if c.body == "" {
			c.body = string(c.ev.AppendJSON(nil, testNow, false))
		}
		expect(t, c.name, r, c.status, c.body, hdrs)
	}
}

func TestDeleteAndPostResponses(t *testing.T) {
	h := newHarness(t, withPropose(func(p *actors.Propose) {
		n := &actors.Node{Key: "/q/00000000000000000008", Value: p.Cmd.Value, ModifiedIndex: 8, CreatedIndex: 8}
		p.Event = &actors.Event{Action: "create", Node: n, Index: 8}
		if p.Cmd.Op == actors.OpDelete {
			p.Event = &actors.Event{Action: "delete", Node: &actors.Node{Key: "/a", ModifiedIndex: 8, CreatedIndex: 4},
				PrevNode: &actors.Node{Key: "/a", Value: "1", ModifiedIndex: 4, CreatedIndex: 4}, Index: 8}
		}
	}))
	r := h.do("POST", "/v2/keys/q", formHdr, "value=job")
	expect(t, "post", r, 201, `{"action":"create","node":{"key":"/q/00000000000000000008","value":"job","modifiedIndex":8,"createdIndex":8}}`+"\n", nil)
	r = h.do("DELETE", "/v2/keys/a?noValueOnSuccess=true", nil, "")
	if r.status != 200 || !strings.Contains(r.body, `"prevNode":{"key":"/a","value":"1"`) {
		t.Errorf("delete keeps its nodes with noValueOnSuccess: %d %s", r.status, r.body)
	}
}

func TestHead(t *testing.T) {
	h := newHarness(t)
	r := h.do("HEAD", "/v2/keys/missing", nil, "")
	body := `{"errorCode":100,"message":"Key not found","cause":"/missing","index":7}` + "\n"
	expect(t, "head of a missing key", r, 404, "", map[string]string{
		"Content-Length": itoa(len(body)), "Content-Type": appJSON, "X-Etcd-Index": "7", "X-Raft-Index": "",
	})
	r = h.get("/v2/keys/missing")
	expect(t, "get of a missing key", r, 404, body, map[string]string{"X-Etcd-Index": "7"})
}

func TestTimeout(t *testing.T) {
	h := newHarness(t, silentRaft(), withTimeout(50*time.Millisecond))
	body := `{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: request timed out","index":0}` + "\n"
	hdrs := map[string]string{"X-Etcd-Index": "0", "Content-Type": appJSON, "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd"}
	expect(t, "write", h.do("PUT", "/v2/keys/a", formHdr, "value=1"), 500, body, hdrs)
	expect(t, "quorum read", h.get("/v2/keys/a?quorum=true"), 500, body, hdrs)
	// A request after the timeouts is served normally: nothing was pooled
	// wrongly.
	r := h.get("/v2/keys/a")
	expect(t, "plain read", r, 404, `{"errorCode":100,"message":"Key not found","cause":"/a","index":7}`+"\n", nil)
}

func TestNilActorsAnswerAtOnce(t *testing.T) {
	s := New(Config{Self: testSelf, ClusterID: 1, Log: zerolog.Nop(), RequestTimeout: time.Hour})
	ctx := newCtx("GET", "/v2/keys/a", "", "")
	done := make(chan struct{})
	go func() {
		s.Handler()(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler waits for an actor that does not exist")
	}
	if ctx.Response.StatusCode() != 500 || !strings.Contains(string(ctx.Response.Body()), "request timed out") {
		t.Fatalf("got %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// bodyView is a tree view whose every get renders to the same body.
type bodyView string

func (v bodyView) AppendGet(b []byte, _ any, _, _ bool, _ int64) []byte { return append(b, v...) }
