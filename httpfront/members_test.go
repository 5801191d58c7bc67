package httpfront

import (
	"testing"

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

func TestMembersChanges(t *testing.T) {
	other := Member{ID: 0x12, Name: "b", PeerURLs: []string{"http://10.0.0.2:2380"}}
	h := newHarness(t, withMembers(testSelf, other))
	js := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, method, target string
		hdrs                 map[string]string
		body                 string
		status               int
		want                 string
	}{
		{"update to the same URLs", "PUT", "/v2/members/be8945f178813b5d", js, `{"peerURLs":["http://127.0.0.1:2380"]}`, 204, ""},
		{"same URLs, other spelling", "PUT", "/v2/members/0be8945f178813b5d", map[string]string{"Content-Type": "application/json; charset=utf-8"},
			`{"peerURLs":["  HTTP://127.0.0.1:2380 "]}`, 204, ""},
		{"update to new URLs", "PUT", "/v2/members/be8945f178813b5d", js, `{"peerURLs":["http://127.0.0.1:2390"]}`, 500, `{"message":"membership change not supported yet"}`},
		{"update to a taken URL", "PUT", "/v2/members/be8945f178813b5d", js, `{"peerURLs":["http://10.0.0.2:2380"]}`, 409, `{"message":"membership: peerURL exists"}`},
		{"update unknown id", "PUT", "/v2/members/1234", js, `{"peerURLs":["http://10.0.0.2:2380"]}`, 404, `{"message":"No such member: 1234"}`},
		{"update bad id", "PUT", "/v2/members/zz", js, `{"peerURLs":["http://10.0.0.2:2380"]}`, 404, `{"message":"No such member: zz"}`},
		{"update without id", "PUT", "/v2/members", js, `{}`, 405, "Method Not Allowed\n"},
		{"update form", "PUT", "/v2/members/12", formHdr, `{}`, 415, `{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}`},
		{"update no type", "PUT", "/v2/members/12", nil, `{}`, 415, `{"message":"Bad Content-Type , accept application/json"}`},
		{"update case", "PUT", "/v2/members/12", map[string]string{"Content-Type": "Application/JSON"}, `{}`, 415, `{"message":"Bad Content-Type Application/JSON, accept application/json"}`},
		{"update lowered", "PUT", "/v2/members/12", map[string]string{"Content-Type": " Application/JSON ;x"}, `{"peerURLs":["http://10.0.0.2:2380"]}`, 204, ""},
		{"bad json", "PUT", "/v2/members/12", js, `garbage`, 400, `{"message":"invalid character 'g' looking for beginning of value"}`},
		{"bad type", "PUT", "/v2/members/12", js, `{"peerURLs":"x"}`, 400, `{"message":"json: cannot unmarshal string into Go struct field .peerURLs of type []string"}`},
		{"no urls", "PUT", "/v2/members/12", js, `{}`, 400, `{"message":"no valid URLs given"}`},
		{"bad scheme", "PUT", "/v2/members/12", js, `{"peerURLs":["nope"]}`, 400, `{"message":"URL scheme must be http, https, unix, or unixs: nope"}`},
		{"no port", "PUT", "/v2/members/12", js, `{"peerURLs":["http://127.0.0.1"]}`, 400, `{"message":"URL address does not have the form \"host:port\": http://127.0.0.1"}`},
		{"path", "PUT", "/v2/members/12", js, `{"peerURLs":["http://127.0.0.1:1/x"]}`, 400, `{"message":"URL must not contain a path: http://127.0.0.1:1/x"}`},
		{"unparsable", "PUT", "/v2/members/12", js, `{"peerURLs":["http://[::1"]}`, 400, `{"message":"parse \"http://[::1\": missing ']' in host"}`},
		{"add taken", "POST", "/v2/members", js, `{"peerURLs":["http://127.0.0.1:2380"]}`, 409, `{"message":"membership: peerURL exists"}`},
		{"add taken, path ignored", "POST", "/v2/members/xyz", js, `{"peerURLs":["http://10.0.0.2:2380"]}`, 409, `{"message":"membership: peerURL exists"}`},
		{"add new", "POST", "/v2/members", js, `{"peerURLs":["http://10.0.0.3:2380"]}`, 500, `{"message":"membership change not supported yet"}`},
		{"add form", "POST", "/v2/members", formHdr, `{}`, 415, `{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}`},
		{"add text", "POST", "/v2/members", map[string]string{"Content-Type": "text/plain; x=1"}, `{}`, 415, `{"message":"Bad Content-Type text/plain, accept application/json"}`},
		{"remove unknown", "DELETE", "/v2/members/0001234", nil, "", 404, `{"message":"No such member: 1234"}`},
		{"remove bad id", "DELETE", "/v2/members/zz", nil, "", 404, `{"message":"No such member: zz"}`},
		{"remove without id", "DELETE", "/v2/members/", nil, "", 405, "Method Not Allowed\n"},
		{"remove member", "DELETE", "/v2/members/12", nil, "", 500, `{"message":"membership change not supported yet"}`},
	}
	for _, c := range cases {
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
	}
}
