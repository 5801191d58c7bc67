package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdv2/server/actors/backupfile"
	"github.com/etcdv2/server/httpfront"
)

func tool(run func([]string, io.Writer) int, args ...string) (int, string) {
	var out bytes.Buffer
	code := run(args, &out)
	return code, out.String()
}

var backupTool, restoreTool = runBackup, runRestore

func TestToolFlags(t *testing.T) {
	for _, c := range []struct {
		run  func([]string, io.Writer) int
		args []string
		code int
		want string
	}{
		{backupTool, []string{"--help"}, 0, "Usage: etcdv2 backup"},
		{restoreTool, []string{"--help"}, 0, "Usage: etcdv2 restore"},
		{backupTool, nil, 2, "--file is required"},
		{restoreTool, []string{"--name", "a"}, 2, "--file is required"},
		{backupTool, []string{"--file", "f", "extra"}, 2, "unexpected argument"},
		{restoreTool, []string{"--bogus"}, 2, "bad flags"},
	} {
		if code, out := tool(c.run, c.args...); code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, %q; want %d with %q", c.args, code, out, c.code, c.want)
		}
	}
}

// A backup stream that is refused, cut short or damaged leaves the file
// as it was, and no .part beside it; the next endpoint is tried.
func TestBackupRefusesBadStreams(t *testing.T) {
	var whole bytes.Buffer
	w, _ := backupfile.NewWriter(&whole, backupfile.Header{EtcdIndex: 9})
	w.Write([]byte("image"))
	w.Close()
	good := whole.Bytes()
	serve := func(status int, body []byte) string {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Path != httpfront.BackupPath {
				http.NotFound(rw, r)
				return
			}
			rw.WriteHeader(status)
			rw.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	refused := serve(500, []byte(`{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: no leader","index":0}`))
	cut := serve(200, good[:len(good)-3])
	altered := serve(200, append(append([]byte(nil), good[:46]...), append([]byte{good[46] ^ 1}, good[47:]...)...)) // a byte of the body
	file := filepath.Join(t.TempDir(), "b")
	os.WriteFile(file, []byte("old"), 0o600)
	code, out := tool(backupTool, "--endpoints", refused+","+cut+","+altered, "--file", file)
	if code != 1 || !strings.Contains(out, "500 Internal Server Error") || !strings.Contains(out, "no leader") ||
		!strings.Contains(out, "truncated") || !strings.Contains(out, "SHA-256") {
		t.Fatalf("exit %d: %s", code, out)
	}
	if b, _ := os.ReadFile(file); string(b) != "old" {
		t.Fatalf("the file was replaced by %q", b)
	}
	if _, err := os.Stat(file + ".part"); !os.IsNotExist(err) {
		t.Fatalf("a .part is left: %v", err)
	}
	code, out = tool(backupTool, "--endpoints", cut+","+serve(200, good), "--file", file)
	if b, _ := os.ReadFile(file); code != 0 || !bytes.Equal(b, good) || !strings.Contains(out, `"etcdIndex":9`) {
		t.Fatalf("second endpoint: exit %d %s; file %q", code, out, b)
	}
}
