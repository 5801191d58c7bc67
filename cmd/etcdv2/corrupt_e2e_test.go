package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pristine is a small data dir of a member stopped cleanly, and what it
// serves: the whole tree and its index.
type pristine struct {
	dir   string
	tree  string
	index string
	pages int // bbolt pages in use (the newest meta page's high water mark)
}

func makePristine(t *testing.T) *pristine {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pristine")
	s := startServer(t, dir)
	c := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 60; i++ {
		if code, _, err := put(c, s.url, fmt.Sprintf("/d%d/k%d", i%5, i), fmt.Sprintf("val-%04d", i), nil); err != nil || code != 201 {
			t.Fatalf("put %d: %d %v", i, code, err)
		}
	}
	p := &pristine{dir: dir}
	p.tree, p.index = wholeTree(t, s)
	s.stop(t)
	b, err := os.ReadFile(filepath.Join(dir, "member", "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{0, 4096} {
		if hw := int(binary.LittleEndian.Uint64(b[off+16+40:])); hw > p.pages {
			p.pages = hw
		}
	}
	return p
}

func wholeTree(t *testing.T, s *server) (body, index string) {
	t.Helper()
	resp, err := http.Get(s.url + "/v2/keys/?recursive=true&sorted=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.Header.Get("X-Etcd-Index")
}

// damage copies the pristine data dir and lets hurt change the copy.
func (p *pristine) damage(t *testing.T, hurt func(dbPath, identityPath string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(dir, "member"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "member"), os.DirFS(filepath.Join(p.dir, "member"))); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	hurt(filepath.Join(dir, "member", "raft.db"), filepath.Join(dir, "member", "identity"))
	return dir
}

// outcome starts a member on a damaged data dir. It must either refuse to
// start, exiting 1 with one clear line that says what is wrong and what to
// do, or start cleanly and serve exactly the pristine tree. Never a crash,
// a hang, or changed data.
func (p *pristine) outcome(t *testing.T, name, dir string) (refused bool) {
	t.Helper()
	s := launch(t, dir)
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-exited:
			logs := s.logs.String()
			code := s.cmd.ProcessState.ExitCode()
			if code != 1 || strings.Contains(logs, "goroutine ") || !strings.Contains(logs, `"cannot start"`) {
				t.Fatalf("%s: the member exited (%v, code %d) without a clean refusal; logs:\n%s", name, err, code, logs)
			}
			if !strings.Contains(logs, "restore the data dir from a backup") {
				t.Fatalf("%s: the refusal does not say what to do; logs:\n%s", name, logs)
			}
			return true
		case <-deadline:
			t.Fatalf("%s: neither refused nor healthy in 20s; logs:\n%s", name, s.logs.String())
		case <-time.After(20 * time.Millisecond):
			resp, err := http.Get(s.url + "/health")
			if err != nil {
				continue
			}
			resp.Body.Close()
			tree, index := wholeTree(t, s)
			if tree != p.tree || index != p.index {
				t.Fatalf("%s: the member started and serves changed data (index %s, want %s):\n%s\nwant\n%s", name, index, p.index, tree, p.tree)
			}
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no exit within 10s of SIGTERM", name)
			}
			return false
		}
	}
}

func TestDamagedDataDirIsRefusedOrHarmless(t *testing.T) {
	p := makePristine(t)
	const page = 4096
	if p.pages < 4 || p.pages > 64 {
		t.Fatalf("the small database uses %d pages; the test expects a handful", p.pages)
	}
	type damage struct {
		name       string
		hurt       func(db, id string)
		mustRefuse bool
	}
	rewrite := func(path string, f func(b []byte) []byte) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var cases []damage
	for pg := 0; pg < p.pages; pg++ {
		cases = append(cases, damage{name: fmt.Sprintf("page %d zeroed", pg), hurt: func(db, _ string) {
			rewrite(db, func(b []byte) []byte { clear(b[pg*page : (pg+1)*page]); return b })
		}, mustRefuse: pg < 2})
		cases = append(cases, damage{name: fmt.Sprintf("page %d's id flipped", pg), hurt: func(db, _ string) {
			rewrite(db, func(b []byte) []byte { b[pg*page+2] ^= 0x40; return b })
		}})
	}
	for pg := 0; pg <= p.pages+1; pg++ {
		cases = append(cases, damage{name: fmt.Sprintf("truncated to %d pages", pg), hurt: func(db, _ string) {
			if err := os.Truncate(db, int64(pg*page)); err != nil {
				t.Fatal(err)
			}
		}, mustRefuse: pg < p.pages})
	}
	cases = append(cases,
		damage{name: "truncated to half a page", hurt: func(db, _ string) { os.Truncate(db, page/2) }, mustRefuse: true},
		damage{name: "one page short", hurt: func(db, _ string) { os.Truncate(db, int64((p.pages-1)*page)) }, mustRefuse: true},
		damage{name: "a byte of a stored value flipped", hurt: func(db, _ string) {
			rewrite(walSegment(t, db), func(b []byte) []byte {
				i := bytes.Index(b, []byte("val-0042"))
				if i < 0 {
					t.Fatal("value not in the file")
				}
				b[i+7] ^= 1 // val-0042 would read val-0043
				return b
			})
		}, mustRefuse: true},
		damage{name: "newest meta page damaged", hurt: func(db, _ string) {
			rewrite(db, func(b []byte) []byte {
				newest := 0
				if binary.LittleEndian.Uint64(b[page+16+48:]) > binary.LittleEndian.Uint64(b[16+48:]) {
					newest = page
				}
				b[newest+16+20] ^= 0x08 // inside the root bucket's page id
				return b
			})
		}, mustRefuse: true},
		damage{name: "raft.db deleted", hurt: func(db, _ string) { os.Remove(db) }, mustRefuse: true},
		damage{name: "the WAL deleted", hurt: func(db, _ string) { os.RemoveAll(filepath.Join(filepath.Dir(db), "wal")) }, mustRefuse: true},
		damage{name: "the WAL's segment emptied", hurt: func(db, _ string) { os.Truncate(walSegment(t, db), 0) }, mustRefuse: true},
		damage{name: "the WAL's segment cut after its records", hurt: func(db, _ string) {
			seg := walSegment(t, db)
			b, _ := os.ReadFile(seg)
			i := len(b)
			for i > 0 && b[i-1] == 0 {
				i--
			}
			os.Truncate(seg, int64(i)) // every record whole, the preallocated room gone
		}, mustRefuse: true},
		damage{name: "the WAL's segment cut inside its records", hurt: func(db, _ string) {
			seg := walSegment(t, db)
			b, _ := os.ReadFile(seg)
			os.Truncate(seg, int64(bytes.Index(b, []byte("val-0030")))) // acknowledged writes after it
		}, mustRefuse: true},
		damage{name: "raft.db emptied", hurt: func(db, _ string) { os.Truncate(db, 0) }, mustRefuse: true},
		damage{name: "a bit of the identity flipped", hurt: func(_, id string) {
			rewrite(id, func(b []byte) []byte { b[3] ^= 0x01; return b })
		}, mustRefuse: true},
	)
	refusals := 0
	for _, c := range cases {
		refused := p.outcome(t, c.name, p.damage(t, c.hurt))
		if c.mustRefuse && !refused {
			t.Fatalf("%s: the member started on it", c.name)
		}
		if refused {
			refusals++
		}
	}
	t.Logf("%d damaged data dirs: %d refused, %d started with the pristine data", len(cases), refusals, len(cases)-refusals)
}

// walSegment is the one WAL segment of the small data dir whose raft.db is db.
func walSegment(t *testing.T, db string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(filepath.Dir(db), "wal", "*.wal"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("WAL segments %v %v", segs, err)
	}
	return segs[0]
}
