package httpfront

import (
	"io"
	"strings"
	"testing"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/backupfile"
)

type fakeImage string

func (f fakeImage) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, string(f))
	return int64(n), err
}

// GET /etcdv2/backup is a quorum read of the whole tree (through the raft
// actor), streamed as a backup file with the read's indexes in its header
// and the response's headers.
func TestBackupStreamsTheImage(t *testing.T) {
	image := strings.Repeat("tree image ", 10000)
	h := newHarness(t, withRead(func(r *actors.Read) {
		if !r.Backup || !r.Quorum || r.Path != "/" {
			r.Err = actors.NewError(actors.EcodeRaftInternal, "not a backup read", 0)
			return
		}
		r.Image, r.EtcdIndex, r.RaftIndex, r.RaftTerm = fakeImage(image), 42, 50, 3
	}))
	r := h.get(BackupPath)
	if r.status != 200 || r.header.Get("Content-Type") != "application/octet-stream" || r.header.Get("X-Etcd-Index") != "42" ||
		r.header.Get("X-Raft-Index") != "50" || r.header.Get("X-Raft-Term") != "3" || r.header.Get("X-Etcd-Cluster-Id") == "" {
		t.Fatalf("backup: %d %v", r.status, r.header)
	}
	head, body, err := backupfile.Decode([]byte(r.body))
	if err != nil || string(body) != image || head != (backupfile.Header{EtcdIndex: 42, RaftIndex: 50, RaftTerm: 3, Taken: testNow}) {
		t.Fatalf("backup file: %+v %d bytes %v", head, len(body), err)
	}
	reads := reads(h.raft)
	if len(reads) != 1 || !reads[0].Quorum || !reads[0].Backup {
		t.Fatalf("raft got %+v", reads)
	}
}

func TestBackupRefusals(t *testing.T) {
	h := newHarness(t, failingQuorum())
	expect(t, "no leader", h.get(BackupPath), 500,
		`{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: no leader","index":0}`+"\n", map[string]string{"X-Etcd-Index": "0"})
	expect(t, "PUT", h.do("PUT", BackupPath, nil, ""), 405, "Method Not Allowed\n", map[string]string{"Allow": "GET"})
	expect(t, "a path below", h.get(BackupPath+"/x"), 404, "404 page not found\n", nil)
}
