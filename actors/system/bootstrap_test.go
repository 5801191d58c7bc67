package system

import (
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/etcdv2/server/httpfront"
)

// What a member's peer URL serves on /members is what a joining member
// reads back: etcd's JSON (ids as numbers) and the cluster id in a header.
func TestMembersRoundTrip(t *testing.T) {
	ms := []httpfront.Member{
		{ID: 0xe2608b72a3aecd7c, Name: "ref", PeerURLs: []string{"http://127.0.0.1:33721"}, ClientURLs: []string{"http://127.0.0.1:33720"}},
		{ID: 7, PeerURLs: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}},
	}
	srv := httptest.NewServer(membersHandler(0x564d85ebd9c56a7, func() []httpfront.Member { return ms }))
	defer srv.Close()
	rec := httptest.NewRecorder()
	membersHandler(0x564d85ebd9c56a7, func() []httpfront.Member { return ms[:1] })(rec, httptest.NewRequest("GET", "/members", nil))
	// The reference's answer, byte for byte.
	if got := rec.Body.String(); got != `[{"id":16312191174824611196,"peerURLs":["http://127.0.0.1:33721"],"name":"ref","clientURLs":["http://127.0.0.1:33720"]}]`+"\n" ||
		rec.Header().Get("X-Etcd-Cluster-Id") != "564d85ebd9c56a7" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("/members %q %v", got, rec.Header())
	}
	rc, err := fetchCluster(zerolog.Nop(), []string{"http://127.0.0.1:1", srv.URL}, joinFetchTimeout, false)
	if err != nil || rc.id != 0x564d85ebd9c56a7 || !reflect.DeepEqual(rc.members, ms) {
		t.Fatalf("fetched %+v %v", rc, err)
	}
}

func TestAssignIDs(t *testing.T) {
	local := []httpfront.Member{
		{ID: 1, Name: "a", PeerURLs: []string{"http://127.0.0.1:2380"}},
		{ID: 2, Name: "b", PeerURLs: []string{"http://localhost:2381"}},
	}
	running := []httpfront.Member{
		{ID: 0xa1, PeerURLs: []string{"http://127.0.0.1:2381"}},
		{ID: 0xa2, PeerURLs: []string{"http://127.0.0.1:2380"}},
	}
	if err := assignIDs(local, running); err != nil || local[0].ID != 0xa2 || local[1].ID != 0xa1 {
		t.Fatalf("assigned %+v %v", local, err)
	}
	if err := assignIDs(local[:1], running); err == nil || err.Error() != "member count is unequal" {
		t.Fatalf("fewer listed: %v", err)
	}
	running[0].PeerURLs = []string{"http://127.0.0.1:9"}
	if err := assignIDs(local, running); err == nil || !strings.HasPrefix(err.Error(), "PeerURLs: no match found for existing member (a1, [http://127.0.0.1:9])") {
		t.Fatalf("unmatched: %v", err)
	}
}

// decideBoot on a fresh data dir checks the flags as etcd's VerifyBootstrap
// does, and takes a repeated name as one member with several URLs.
func TestDecideBootChecksFreshFlags(t *testing.T) {
	base := Config{Name: "a", DataDir: filepath.Join(t.TempDir(), "d"), InitialClusterState: "new",
		InitialClusterToken: "t", InitialAdvertisePeerURLs: []string{"http://127.0.0.1:2380"}, Log: zerolog.Nop()}
	for _, c := range []struct {
		cluster string
		adv     []string
		err     string
	}{
		{"", nil, ""},
		{"a=http://localhost:2380", nil, ""},
		{"a=http://127.0.0.1:2380,a=http://127.0.0.1:2390", []string{"http://127.0.0.1:2390", "http://127.0.0.1:2380"}, ""},
		{"a=http://127.0.0.1:2390", nil, "--initial-cluster has a=http://127.0.0.1:2390 but missing from --initial-advertise-peer-urls=http://127.0.0.1:2380"},
		{"a=http://127.0.0.1:2380", []string{"http://127.0.0.1:2380", "http://127.0.0.1:2399"},
			"--initial-advertise-peer-urls has http://127.0.0.1:2399 but missing from --initial-cluster=a=http://127.0.0.1:2380"},
		{"b=http://127.0.0.1:2380", nil, `couldn't find local name "a" in the initial cluster configuration`},
		{"a=http://127.0.0.1:2380,b=http://127.0.0.1:2380", nil, "initial cluster a=http://127.0.0.1:2380,b=http://127.0.0.1:2380 has duplicate url http://127.0.0.1:2380"},
		{"a=unix://x:1", nil, "URL scheme must be http or https: unix://x:1"},
		{"a=http://127.0.0.1:2380/x", nil, "URL must not contain a path: http://127.0.0.1:2380/x"},
	} {
		cfg := base
		cfg.InitialCluster = c.cluster
		if c.adv != nil {
			cfg.InitialAdvertisePeerURLs = c.adv
		}
		b, err := decideBoot(&cfg)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.cluster, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.cluster, err, c.err)
		case err == nil && (b.known || b.join || b.force || len(b.members) != 1):
			t.Errorf("%q: %+v", c.cluster, b)
		}
	}
}
