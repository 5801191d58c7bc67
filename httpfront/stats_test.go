package httpfront

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/etcdv2/server/actors"
)

func localTime(ns int64) string { return time.Unix(0, ns).Format(time.RFC3339Nano) }

func TestVersionAndMachines(t *testing.T) {
	other := Member{ID: 0x1234, Name: "b", PeerURLs: []string{"http://10.0.0.2:2380"}, ClientURLs: []string{"http://10.0.0.2:2379", "http://10.0.0.2:4001"}}
	h := newHarness(t, withMembers(testSelf, other))
	expect(t, "version", h.get("/version"), 200, `{"etcdserver":"3.5.35","etcdcluster":"3.5.0"}`,
		map[string]string{"Content-Type": appJSON, "X-Etcd-Cluster-Id": "", "Access-Control-Allow-Origin": "*"})
	want := "http://10.0.0.2:2379, http://10.0.0.2:4001, http://127.0.0.1:2379"
	expect(t, "machines", h.get("/v2/machines"), 200, want, map[string]string{"Content-Type": textPlain})
	expect(t, "machines head", h.do("HEAD", "/v2/machines", nil, ""), 200, "",
		map[string]string{"Content-Type": textPlain, "Content-Length": itoa(len(want))})
}

func TestStatsSelf(t *testing.T) {
	h := newHarness(t)
	want := `{"name":"ref","id":"be8945f178813b5d","state":"StateLeader","startTime":"` + localTime(1_699_999_900_000_000_001) +
		`","leaderInfo":{"leader":"be8945f178813b5d","uptime":"10.123456789s","startTime":"` + localTime(1_699_999_990_000_000_000) +
		`"},"recvAppendRequestCnt":0,"sendAppendRequestCnt":0}`
	expect(t, "self on the leader", h.get("/v2/stats/self"), 200, want, map[string]string{"Content-Type": appJSON})

	h = newHarness(t, withStatus(actors.Status{ID: testSelfID, Lead: 0x1234, Term: 3, StartTime: 1_699_999_900_000_000_001,
		LeaderSince: 1_700_000_000_000_000_000, RecvAppendRequestCnt: 42, SendAppendRequestCnt: 7}))
	want = `{"name":"ref","id":"be8945f178813b5d","state":"StateFollower","startTime":"` + localTime(1_699_999_900_000_000_001) +
		`","leaderInfo":{"leader":"1234","uptime":"123.456789ms","startTime":"` + localTime(1_700_000_000_000_000_000) +
		`"},"recvAppendRequestCnt":42,"sendAppendRequestCnt":7}`
	expect(t, "self on a follower", h.get("/v2/stats/self"), 200, want, nil)

	h = newHarness(t, withStatus(actors.Status{ID: testSelfID, Lead: 0x1234, StartTime: 1_699_999_900_000_000_001,
		LeaderSince: 1_700_000_000_000_000_000, RecvAppendRequestCnt: 42, RecvPkgRate: 56.5, RecvBandwidthRate: 4973.25}))
	want = `{"name":"ref","id":"be8945f178813b5d","state":"StateFollower","startTime":"` + localTime(1_699_999_900_000_000_001) +
		`","leaderInfo":{"leader":"1234","uptime":"123.456789ms","startTime":"` + localTime(1_700_000_000_000_000_000) +
		`"},"recvAppendRequestCnt":42,"recvPkgRate":56.5,"recvBandwidthRate":4973.25,"sendAppendRequestCnt":0}`
	expect(t, "self with rates", h.get("/v2/stats/self"), 200, want, nil)

	h = newHarness(t, withStatus(actors.Status{ID: testSelfID, StartTime: 1_699_999_900_000_000_001}))
	want = `{"name":"ref","id":"be8945f178813b5d","state":"StateFollower","startTime":"` + localTime(1_699_999_900_000_000_001) +
		`","leaderInfo":{"leader":"","uptime":"2562047h47m16.854775807s","startTime":"0001-01-01T00:00:00Z"},"recvAppendRequestCnt":0,"sendAppendRequestCnt":0}`
	expect(t, "self without a leader", h.get("/v2/stats/self"), 200, want, nil)
}

func TestStatsLeader(t *testing.T) {
	h := newHarness(t)
	expect(t, "single member", h.get("/v2/stats/leader"), 200, `{"leader":"be8945f178813b5d","followers":{}}`,
		map[string]string{"Content-Type": appJSON})

	b := Member{ID: 0xa, Name: "b"}
	c := Member{ID: 0xffff, Name: "c"}
	h = newHarness(t, withMembers(c, testSelf, b))
	follower := `{"latency":{"current":0,"average":0,"standardDeviation":0,"minimum":9223372036854776000,"maximum":0},"counts":{"fail":0,"success":0}}`
	expect(t, "three members", h.get("/v2/stats/leader"), 200,
		`{"leader":"be8945f178813b5d","followers":{"a":`+follower+`,"ffff":`+follower+`}}`, nil)

	// The leader's figures of a follower, in etcd's units (ms) and JSON.
	fa := actors.NewFollowerStats(0xa)
	fa.Succ(711_000)
	fa.Succ(2_000_000)
	fa.Fail = 1
	st := actors.Status{ID: testSelfID, Lead: testSelfID, IsLeader: true, Members: []Member{b, c, testSelf}, Followers: []actors.FollowerStats{fa}}
	h = newHarness(t, withStatus(st))
	expect(t, "with figures", h.get("/v2/stats/leader"), 200,
		`{"leader":"be8945f178813b5d","followers":{"a":{"latency":{"current":2,"average":1.3555,"standardDeviation":0.6445000000000001,"minimum":0.711,"maximum":2},"counts":{"fail":1,"success":2}},"ffff":`+follower+`}}`, nil)

	h = newHarness(t, withStatus(actors.Status{ID: testSelfID, Lead: 0xa}))
	expect(t, "follower", h.get("/v2/stats/leader"), 403, `{"message":"not current leader"}`,
		map[string]string{"Content-Type": appJSON})
}

func TestStatsStore(t *testing.T) {
	h := newHarness(t, withStats(actors.StoreStats{GetSuccess: 1, GetFail: 2, SetSuccess: 3, SetFail: 4, DeleteSuccess: 5, DeleteFail: 6,
		UpdateSuccess: 7, UpdateFail: 8, CreateSuccess: 9, CreateFail: 10, CompareAndSwapSuccess: 11, CompareAndSwapFail: 12,
		CompareAndDeleteSuccess: 13, CompareAndDeleteFail: 14, ExpireCount: 15, Watchers: 99}, 16))
	want := `{"getsSuccess":1,"getsFail":2,"setsSuccess":3,"setsFail":4,"deleteSuccess":5,"deleteFail":6,` +
		`"updateSuccess":7,"updateFail":8,"createSuccess":9,"createFail":10,"compareAndSwapSuccess":11,"compareAndSwapFail":12,` +
		`"compareAndDeleteSuccess":13,"compareAndDeleteFail":14,"expireCount":15,"watchers":16}`
	expect(t, "store", h.get("/v2/stats/store"), 200, want, map[string]string{"Content-Type": appJSON})
}

func TestHealth(t *testing.T) {
	h := newHarness(t)
	expect(t, "healthy", h.get("/health"), 200, `{"health":"true","reason":""}`,
		map[string]string{"Content-Type": textPlain, "X-Content-Type-Options": ""})
	rs := reads(h.raft)
	if len(rs) != 1 || !rs[0].Quorum {
		t.Errorf("health did not make a quorum read: %+v", rs)
	}

	h = newHarness(t, withStatus(actors.Status{ID: testSelfID}))
	expect(t, "no leader", h.get("/health"), 503, `{"health":"false","reason":"RAFT NO LEADER"}`+"\n",
		map[string]string{"Content-Type": textPlain, "X-Content-Type-Options": "nosniff"})

	h = newHarness(t, failingQuorum())
	expect(t, "quorum read fails", h.get("/health"), 503, `{"health":"false","reason":"QGET ERROR:etcdserver: no leader"}`+"\n", nil)

	h = newHarness(t, silentRaft(), withTimeout(30*time.Millisecond))
	expect(t, "raft silent", h.get("/health"), 503, `{"health":"false","reason":"QGET ERROR:etcdserver: request timed out"}`+"\n", nil)
}

func TestAppendJSONFloatIsEncodingJSONs(t *testing.T) {
	for _, f := range []float64{0, 1, 0.000711, 5e-7, 1.5e-9, 9223372036854775807, 1e21, 123456.789, 2.5e22} {
		want, _ := json.Marshal(f)
		if got := appendJSONFloat(nil, f); string(got) != string(want) {
			t.Errorf("%v: %s, want %s", f, got, want)
		}
	}
}
