package backupfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func encode(t *testing.T, h Header, body ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range body {
		if _, err := w.Write([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The exact bytes of a small backup: the layout the package doc promises.
func TestLayout(t *testing.T) {
	got := encode(t, Header{EtcdIndex: 7, RaftIndex: 0x0102, RaftTerm: 3, Taken: 1}, "ab", "c")
	want := "455443445632424b" + "01000000" + "0700000000000000" + "0201000000000000" + "0300000000000000" + "0100000000000000" +
		"616263" + "0300000000000000"
	if h := hex.EncodeToString(got[:len(got)-32]); h != want {
		t.Fatalf("bytes\n%s\nwant\n%s", h, want)
	}
	if len(got) != 44+3+40 {
		t.Fatalf("%d bytes", len(got))
	}
}

func TestRoundTrip(t *testing.T) {
	h := Header{EtcdIndex: 1 << 40, RaftIndex: 99, RaftTerm: 5, Taken: -3}
	data := encode(t, h, "tree ", "image")
	gh, body, err := Decode(data)
	if err != nil || gh != h || string(body) != "tree image" {
		t.Fatalf("decoded %+v %q %v", gh, body, err)
	}
	path := filepath.Join(t.TempDir(), "b")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if gh, body, err := ReadFile(path); err != nil || gh != h || string(body) != "tree image" {
		t.Fatalf("read file: %+v %q %v", gh, body, err)
	}
	big := encode(t, h, strings.Repeat("x", 200<<10))
	for _, r := range []io.Reader{bytes.NewReader(big), iotest.HalfReader(bytes.NewReader(big)), iotest.OneByteReader(bytes.NewReader(data))} {
		if gh, err := Verify(r); err != nil || gh != h {
			t.Fatalf("verify: %+v %v", gh, err)
		}
	}
	if _, body, err := Decode(encode(t, h)); err != nil || len(body) != 0 {
		t.Fatalf("empty body: %q %v", body, err)
	}
}

// Every truncation, every flipped byte and any appended byte is refused.
func TestRefusesDamage(t *testing.T) {
	data := encode(t, Header{EtcdIndex: 3}, strings.Repeat("body", 20))
	if _, err := Verify(bytes.NewReader(data)); err != nil {
		t.Fatalf("verify the whole file: %v", err)
	}
	for n := range len(data) {
		_, _, err := Decode(data[:n])
		_, verr := Verify(bytes.NewReader(data[:n]))
		for _, err := range []error{err, verr} {
			if n < 8 && !errors.Is(err, ErrNotBackup) || n >= 8 && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("cut to %d bytes: %v", n, err)
			}
		}
	}
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x10
		if _, _, err := Decode(bad); err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
		if _, err := Verify(bytes.NewReader(bad)); err == nil {
			t.Fatalf("byte %d flipped: verified", i)
		}
	}
	if _, _, err := Decode(append(bytes.Clone(data), 0)); !errors.Is(err, ErrTruncated) {
		t.Fatalf("a byte appended: %v", err)
	}
	if _, err := Verify(bytes.NewReader(append(bytes.Clone(data), 0))); !errors.Is(err, ErrTruncated) {
		t.Fatalf("a byte appended, verified: %v", err)
	}
	v2 := bytes.Clone(data)
	v2[8] = 2
	if _, _, err := Decode(v2); err == nil || !strings.Contains(err.Error(), "format version 2") {
		t.Fatalf("version 2: %v", err)
	}
	path := filepath.Join(t.TempDir(), "cut")
	os.WriteFile(path, data[:len(data)-1], 0o600)
	if _, _, err := ReadFile(path); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), path) {
		t.Fatalf("a truncated file: %v", err)
	}
}

type shortWriter struct{ left int }

func (s *shortWriter) Write(p []byte) (int, error) {
	if len(p) > s.left {
		n := s.left
		s.left = 0
		return n, errors.New("disk full")
	}
	s.left -= len(p)
	return len(p), nil
}

// A failed write is sticky: no trailer follows a body that was cut short.
func TestWriterErrorIsSticky(t *testing.T) {
	w, err := NewWriter(&shortWriter{left: 50}, Header{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 10)); err == nil {
		t.Fatal("write past the room succeeded")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after a failed one succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("close after a failed write succeeded")
	}
}
