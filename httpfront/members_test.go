package httpfront

import (
	"reflect"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

func TestMembersRead(t *testing.T) {
	other := Member{ID: 0x12, Name: "b<&>", PeerURLs: []string{"http://10.0.0.2:2380"}}
	h := newHarness(t, withMembers(testSelf, other))
	selfJSON := `{"id":"be8945f178813b5d","name":"ref","peerURLs":["http://127.0.0.1:2380"],"clientURLs":["http://127.0.0.1:2379"]}`
	list := `{"members":[{"id":"12","name":"b\u003c\u0026\u003e","peerURLs":["http://10.0.0.2:2380"],"clientURLs":[]},` + selfJSON + "]}\n"
	cid := map[string]string{"Content-Type": appJSON, "X-Etcd-Cluster-Id": "8c69a9a8e935cdcd", "Access-Control-Allow-Origin": "*"}
	expect(t, "list", h.get("/v2/members"), 200, list, cid)
	expect(t, "list with slash", h.get("/v2/members/"), 200, list, cid)
	expect(t, "leader", h.get("/v2/members/leader"), 200, selfJSON+"\n", cid)
	expect(t, "unknown path", h.get("/v2/members/1234"), 404, `{"message":"Not found"}`, cid)
	expect(t, "below leader", h.get("/v2/members/leader/x"), 404, `{"message":"Not found"}`, cid)

	h = newHarness(t, withStatus(actors.Status{ID: testSelfID}))
	expect(t, "no leader", h.get("/v2/members/leader"), 503, `{"message":"During election"}`, cid)
}

// The front parses a change as etcd does and asks the raft actor, which
// owns the membership, for it: its refusals come back as etcd's statuses and
// messages; a change done is 201 with the new member, or 204.
func TestMembersChanges(t *testing.T) {
	other := Member{ID: 0x12, Name: "b", PeerURLs: []string{"http://10.0.0.2:2380"}}
	var asked []actors.MemberChange
	h := newHarness(t, withMembers(testSelf, other))
	h.onMemberChange = func(m *actors.MemberChange) {
		asked = append(asked, *m)
		switch {
		case m.Member.ID == 0x1234:
			m.Status, m.Message = 404, "No such member: 1234"
		case len(m.Member.PeerURLs) > 0 && m.Member.PeerURLs[0] == "http://10.0.0.2:2380" && m.Member.ID != 0x12:
			m.Status, m.Message = 409, actors.ErrMemberPeerURLExists
		case m.Kind == actors.MemberAdd:
			m.Member.ID = 0xabc
		}
	}
	js := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, method, target string
		hdrs                 map[string]string
		body                 string
		status               int
		want                 string
		asked                *actors.MemberChange // what the raft actor is asked; nil: nothing
	}{
		{"update", "PUT", "/v2/members/be8945f178813b5d", js, `{"peerURLs":["http://127.0.0.1:2390"]}`, 204, "",
			&actors.MemberChange{Kind: actors.MemberUpdate, Member: Member{ID: testSelfID, PeerURLs: []string{"http://127.0.0.1:2390"}}}},
		{"URLs normalized and sorted", "PUT", "/v2/members/0be8945f178813b5d", map[string]string{"Content-Type": "application/json; charset=utf-8"},
			`{"peerURLs":["  HTTP://127.0.0.1:2390 ","http://127.0.0.1:2385"]}`, 204, "",
			&actors.MemberChange{Kind: actors.MemberUpdate, Member: Member{ID: testSelfID, PeerURLs: []string{"http://127.0.0.1:2385", "http://127.0.0.1:2390"}}}},
		{"update to a taken URL", "PUT", "/v2/members/be8945f178813b5d", js, `{"peerURLs":["http://10.0.0.2:2380"]}`, 409, `{"message":"membership: peerURL exists"}`,
			&actors.MemberChange{Kind: actors.MemberUpdate, Member: Member{ID: testSelfID, PeerURLs: []string{"http://10.0.0.2:2380"}}}},
		{"update unknown id", "PUT", "/v2/members/1234", js, `{"peerURLs":["http://10.0.0.9:2380"]}`, 404, `{"message":"No such member: 1234"}`,
			&actors.MemberChange{Kind: actors.MemberUpdate, Member: Member{ID: 0x1234, PeerURLs: []string{"http://10.0.0.9:2380"}}}},
		{"update bad id", "PUT", "/v2/members/zz", js, `{"peerURLs":["http://10.0.0.2:2380"]}`, 404, `{"message":"No such member: zz"}`, nil},
		{"update without id", "PUT", "/v2/members", js, `{}`, 405, "Method Not Allowed\n", nil},
		{"update form", "PUT", "/v2/members/12", formHdr, `{}`, 415, `{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}`, nil},
		{"update no type", "PUT", "/v2/members/12", nil, `{}`, 415, `{"message":"Bad Content-Type , accept application/json"}`, nil},
		{"update case", "PUT", "/v2/members/12", map[string]string{"Content-Type": "Application/JSON"}, `{}`, 415, `{"message":"Bad Content-Type Application/JSON, accept application/json"}`, nil},
		{"update lowered", "PUT", "/v2/members/12", map[string]string{"Content-Type": " Application/JSON ;x"}, `{"peerURLs":["http://10.0.0.2:2380"]}`, 204, "",
			&actors.MemberChange{Kind: actors.MemberUpdate, Member: Member{ID: 0x12, PeerURLs: []string{"http://10.0.0.2:2380"}}}},
		{"bad json", "PUT", "/v2/members/12", js, `garbage`, 400, `{"message":"invalid character 'g' looking for beginning of value"}`, nil},
		{"bad type", "PUT", "/v2/members/12", js, `{"peerURLs":"x"}`, 400, `{"message":"json: cannot unmarshal string into Go struct field .peerURLs of type []string"}`, nil},
		{"no urls", "PUT", "/v2/members/12", js, `{}`, 400, `{"message":"no valid URLs given"}`, nil},
		{"bad scheme", "PUT", "/v2/members/12", js, `{"peerURLs":["nope"]}`, 400, `{"message":"URL scheme must be http, https, unix, or unixs: nope"}`, nil},
		{"no port", "PUT", "/v2/members/12", js, `{"peerURLs":["http://127.0.0.1"]}`, 400, `{"message":"URL address does not have the form \"host:port\": http://127.0.0.1"}`, nil},
		{"path", "PUT", "/v2/members/12", js, `{"peerURLs":["http://127.0.0.1:1/x"]}`, 400, `{"message":"URL must not contain a path: http://127.0.0.1:1/x"}`, nil},
		{"unparsable", "PUT", "/v2/members/12", js, `{"peerURLs":["http://[::1"]}`, 400, `{"message":"parse \"http://[::1\": missing ']' in host"}`, nil},
		{"add taken", "POST", "/v2/members", js, `{"peerURLs":["http://10.0.0.2:2380"]}`, 409, `{"message":"membership: peerURL exists"}`,
			&actors.MemberChange{Kind: actors.MemberAdd, Member: Member{PeerURLs: []string{"http://10.0.0.2:2380"}}}},
		{"add new, path ignored", "POST", "/v2/members/xyz", js, `{"peerURLs":["http://10.0.0.3:2380"]}`, 201,
			`{"id":"abc","name":"","peerURLs":["http://10.0.0.3:2380"],"clientURLs":[]}` + "\n",
			&actors.MemberChange{Kind: actors.MemberAdd, Member: Member{PeerURLs: []string{"http://10.0.0.3:2380"}}}},
		{"add form", "POST", "/v2/members", formHdr, `{}`, 415, `{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}`, nil},
		{"add text", "POST", "/v2/members", map[string]string{"Content-Type": "text/plain; x=1"}, `{}`, 415, `{"message":"Bad Content-Type text/plain, accept application/json"}`, nil},
		{"remove unknown", "DELETE", "/v2/members/0001234", nil, "", 404, `{"message":"No such member: 1234"}`,
			&actors.MemberChange{Kind: actors.MemberRemove, Member: Member{ID: 0x1234}}},
		{"remove bad id", "DELETE", "/v2/members/zz", nil, "", 404, `{"message":"No such member: zz"}`, nil},
		{"remove without id", "DELETE", "/v2/members/", nil, "", 405, "Method Not Allowed\n", nil},
		{"remove member", "DELETE", "/v2/members/12", nil, "", 204, "", &actors.MemberChange{Kind: actors.MemberRemove, Member: Member{ID: 0x12}}},
	}
	for _, c := range cases {
		asked = nil
		r := h.do(c.method, c.target, c.hdrs, c.body)
		hdrs := map[string]string{"X-Etcd-Cluster-Id": "8c69a9a8e935cdcd", "Access-Control-Allow-Origin": "*"}
		switch {
		case c.status == 204:
			hdrs["Content-Type"] = ""
		case c.status == 405:
			hdrs["Content-Type"], hdrs["Allow"] = textPlain, ""
		default:
			hdrs["Content-Type"] = appJSON
		}
		expect(t, c.name, r, c.status, c.want, hdrs)
		switch {
		case c.asked == nil && len(asked) != 0:
			t.Errorf("%s: asked the raft actor %+v", c.name, asked)
		case c.asked != nil && (len(asked) != 1 || asked[0].Kind != c.asked.Kind || !reflect.DeepEqual(asked[0].Member, c.asked.Member)):
			t.Errorf("%s: asked the raft actor %+v, want %+v", c.name, asked, *c.asked)
		}
	}

	h = newHarness(t, withTimeout(200*time.Millisecond), silentRaft())
	expect(t, "no answer", h.do("DELETE", "/v2/members/12", nil, ""), 500, `{"message":"Internal Server Error"}`,
		map[string]string{"Content-Type": appJSON})
}
