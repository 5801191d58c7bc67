package system

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors/backupfile"
	"github.com/etcdv2/server/httpfront"
)

func do(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(method)
	if body != "" {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(body)
	}
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode(), string(resp.Body()), string(resp.Header.Peek("X-Etcd-Index"))
}

// A backup taken from a member and restored into a fresh data dir starts a
// member of a new cluster (its ids from the restore's flags) with every key,
// hidden key, directory and index of the backup; the next write continues
// the etcd index.
func TestRestoreStartsAMemberWithTheBackup(t *testing.T) {
	_, addr := startMember(t)
	base := "http://" + addr
	for _, w := range []string{"/v2/keys/a=value=1", "/v2/keys/_hidden=value=h", "/v2/keys/d/k=value=2", "/v2/keys/t=value=x&ttl=3600", "/v2/keys/e=dir=true"} {
		k, form, _ := strings.Cut(w, "=")
		if code, body, _ := do(t, "PUT", base+k, form); code != 201 {
			t.Fatalf("put %s: %d %s", k, code, body)
		}
	}
	code, file, index := do(t, "GET", base+httpfront.BackupPath, "")
	if code != 200 || index != "5" {
		t.Fatalf("backup: %d, X-Etcd-Index %s", code, index)
	}
	path := filepath.Join(t.TempDir(), "backup")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, ttlBefore := getNode(t, base+"/v2/keys/t")

	dir := filepath.Join(t.TempDir(), "restored")
	rc := RestoreConfig{File: path, DataDir: dir, Name: "r", InitialClusterToken: "tok",
		InitialAdvertisePeerURLs: []string{"http://127.0.0.1:1"}, Log: zerolog.Nop()}
	got, err := Restore(rc)
	wantID := MemberID([]string{"http://127.0.0.1:1"}, "tok")
	if err != nil || got.MemberID != wantID || got.ClusterID != ClusterID([]uint64{wantID}) || got.EtcdIndex != 5 || got.Keys != 6 {
		t.Fatalf("restore: %+v %v", got, err)
	}
	if _, err := Restore(rc); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("restore into the restored data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "member.restoring")); !os.IsNotExist(err) {
		t.Fatalf("the restore left its scratch directory: %v", err)
	}

	m, err := Start(Config{Name: "r", DataDir: dir, ListenClientURLs: []string{"http://127.0.0.1:0"},
		AdvertiseClientURLs: []string{"http://127.0.0.1:0"}, InitialAdvertisePeerURLs: []string{"http://127.0.0.1:1"},
		InitialClusterToken: "tok", SnapshotCount: 10000, HeartbeatInterval: 100 * time.Millisecond, ElectionTimeout: time.Second,
		WatchHistory: 1000, WatchMaxWait: time.Minute, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	rbase := "http://" + m.ClientAddrs()[0]
	for key, want := range map[string]string{
		"/v2/keys/a":       `{"action":"get","node":{"key":"/a","value":"1","modifiedIndex":1,"createdIndex":1}}`,
		"/v2/keys/_hidden": `{"action":"get","node":{"key":"/_hidden","value":"h","modifiedIndex":2,"createdIndex":2}}`,
		"/v2/keys/d/k":     `{"action":"get","node":{"key":"/d/k","value":"2","modifiedIndex":3,"createdIndex":3}}`,
		"/v2/keys/e":       `{"action":"get","node":{"key":"/e","dir":true,"modifiedIndex":5,"createdIndex":5}}`,
	} {
		if code, body, idx := do(t, "GET", rbase+key, ""); code != 200 || strings.TrimSpace(body) != want || idx != "5" {
			t.Fatalf("restored %s: %d %s (X-Etcd-Index %s), want %s", key, code, body, idx, want)
		}
	}
	if _, _, ttlAfter := getNode(t, rbase+"/v2/keys/t"); ttlAfter != ttlBefore {
		t.Fatalf("expiration after the restore %q, before %q", ttlAfter, ttlBefore)
	}
	if code, body, idx := do(t, "PUT", rbase+"/v2/keys/next", "value=n"); code != 201 || idx != "6" || !strings.Contains(body, `"modifiedIndex":6`) {
		t.Fatalf("first write after the restore: %d %s (X-Etcd-Index %s), want index 6", code, body, idx)
	}
}

// getNode returns a key's status, body and the expiration its body shows.
func getNode(t *testing.T, url string) (int, string, string) {
	t.Helper()
	code, body, _ := do(t, "GET", url, "")
	_, exp, _ := strings.Cut(body, `"expiration":"`)
	exp, _, _ = strings.Cut(exp, `"`)
	if exp == "" {
		t.Fatalf("%s: no expiration in %s", url, body)
	}
	return code, body, exp
}

// Nothing is written when the flags, the data dir or the file are wrong.
func TestRestoreRefusals(t *testing.T) {
	root := t.TempDir()
	// A well-formed file whose body is no tree: refused only once the file
	// is read, after the flags and the data dir.
	noTree := filepath.Join(root, "notree")
	var img strings.Builder
	w, _ := backupfile.NewWriter(&img, backupfile.Header{EtcdIndex: 0, RaftIndex: 3, RaftTerm: 2})
	w.Write(nil)
	w.Close()
	os.WriteFile(noTree, []byte(img.String()), 0o600)

	full := filepath.Join(root, "full")
	os.MkdirAll(full, 0o700)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	cut := filepath.Join(root, "cut")
	os.WriteFile(cut, []byte(img.String()[:50]), 0o600)
	peer := []string{"http://127.0.0.1:1"}
	for _, c := range []struct {
		name string
		rc   RestoreConfig
		want string
	}{
		{"not empty", RestoreConfig{File: noTree, DataDir: full, Name: "a", InitialAdvertisePeerURLs: peer}, "is not empty"},
		{"not in the cluster", RestoreConfig{File: noTree, DataDir: filepath.Join(root, "d1"), Name: "x", InitialCluster: "a=http://127.0.0.1:1", InitialAdvertisePeerURLs: peer},
			`couldn't find local name "x"`},
		{"advertise differs", RestoreConfig{File: noTree, DataDir: filepath.Join(root, "d2"), Name: "a", InitialCluster: "a=http://127.0.0.1:2", InitialAdvertisePeerURLs: peer},
			"missing from --initial-advertise-peer-urls"},
		{"truncated", RestoreConfig{File: cut, DataDir: filepath.Join(root, "d3"), Name: "a", InitialAdvertisePeerURLs: peer}, "truncated"},
		{"no tree", RestoreConfig{File: noTree, DataDir: filepath.Join(root, "d4"), Name: "a", InitialAdvertisePeerURLs: peer}, "corrupt snapshot"},
		{"no file", RestoreConfig{File: filepath.Join(root, "none"), DataDir: filepath.Join(root, "d5"), Name: "a", InitialAdvertisePeerURLs: peer}, "no such file"},
	} {
		_, err := Restore(c.rc)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
		if c.rc.DataDir != full {
			if _, err := os.Stat(c.rc.DataDir); !os.IsNotExist(err) {
				t.Errorf("%s: data dir left behind: %v", c.name, err)
			}
		}
	}
	if des, _ := os.ReadDir(full); len(des) != 1 {
		t.Errorf("the non-empty data dir was changed: %v", des)
	}
}
