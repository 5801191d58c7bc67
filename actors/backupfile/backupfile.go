// Package backupfile is the format of an online backup, the same on the
// wire (GET /etcdv2/backup) and in the file `etcdv2 backup` writes:
//
//	header, 44 bytes:  "ETCDV2BK" · uint32 version (1) · uint64 etcd index ·
//	                   uint64 raft index · uint64 raft term · int64 unix ns taken
//	body:              the tree's snapshot image (treeactor's format)
//	trailer, 40 bytes: uint64 body length · SHA-256 of header and body
//
// All integers are little-endian. The checksum sits at the end, as in etcd's
// v3 snapshot files, because the member streams the image while it
// serializes it and does not know its sum (or its length) before the last
// byte: holding the whole image to put them first would cost a big store's
// size in memory. A reader checks the length and the sum before it trusts
// anything, so a truncated or altered file is refused with a clear error.
package backupfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

const (
	magic = "ETCDV2BK"
	// Version is the format this build writes and reads.
	Version    = 1
	headerSize = len(magic) + 4 + 4*8
	// the body's length and the SHA-256 after it
	trailerSize = 8 + sha256.Size
)

// Header is what a backup says about itself before its body.
type Header struct {
	EtcdIndex uint64 // the etcd index of the image: the next write gets EtcdIndex+1
	RaftIndex uint64 // the source member's raft position when it was taken
	RaftTerm  uint64
	Taken     int64 // unix nanoseconds, the source member's clock
}

var (
	// ErrNotBackup: the data does not start with a backup's magic.
	ErrNotBackup = errors.New("not an etcdv2 backup file")
	// ErrTruncated: the data is shorter than its trailer says.
	ErrTruncated = errors.New("backup file is truncated (or has bytes added)")
	// ErrChecksum: header or body differ from what was written.
	ErrChecksum = errors.New("backup file is damaged: its SHA-256 does not match")
)

func (h Header) append(b []byte) []byte {
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, Version)
	b = binary.LittleEndian.AppendUint64(b, h.EtcdIndex)
	b = binary.LittleEndian.AppendUint64(b, h.RaftIndex)
	b = binary.LittleEndian.AppendUint64(b, h.RaftTerm)
	return binary.LittleEndian.AppendUint64(b, uint64(h.Taken))
}

func parseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return h, ErrNotBackup
	}
	if len(b) < headerSize {
		return h, ErrTruncated
	}
	if v := binary.LittleEndian.Uint32(b[len(magic):]); v != Version {
		return h, fmt.Errorf("backup file of format version %d: this build reads version %d", v, Version)
	}
	p := b[len(magic)+4:]
	h.EtcdIndex = binary.LittleEndian.Uint64(p)
	h.RaftIndex = binary.LittleEndian.Uint64(p[8:])
	h.RaftTerm = binary.LittleEndian.Uint64(p[16:])
	h.Taken = int64(binary.LittleEndian.Uint64(p[24:]))
	return h, nil
}

// Writer writes a backup: the header at once, the body as it is written,
// the trailer on Close.
type Writer struct {
	w    io.Writer
	sum  hash.Hash
	body uint64
	err  error
}

// NewWriter writes h to w and returns the writer of the body.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	bw := &Writer{w: w, sum: sha256.New()}
	head := h.append(make([]byte, 0, headerSize))
	bw.sum.Write(head)
	if _, err := w.Write(head); err != nil {
		return nil, err
	}
	return bw, nil
}

// Write adds p to the body.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	w.sum.Write(p[:n])
	w.body += uint64(n)
	w.err = err
	return n, err
}

// Close writes the trailer; it does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	t := binary.LittleEndian.AppendUint64(make([]byte, 0, trailerSize), w.body)
	t = w.sum.Sum(t)
	_, w.err = w.w.Write(t)
	return w.err
}

// Decode checks a whole backup and returns its header and body (a slice of
// data).
func Decode(data []byte) (Header, []byte, error) {
	h, err := parseHeader(data)
	if err != nil {
		return h, nil, err
	}
	if len(data) < headerSize+trailerSize {
		return h, nil, ErrTruncated
	}
	end := len(data) - trailerSize
	body := data[headerSize:end]
	if binary.LittleEndian.Uint64(data[end:]) != uint64(len(body)) {
		return h, nil, ErrTruncated
	}
	sum := sha256.Sum256(data[:end])
	if !bytes.Equal(sum[:], data[end+8:]) {
		return h, nil, ErrChecksum
	}
	return h, body, nil
}

// Verify reads a whole backup from r, holding only a chunk at a time, and
// checks it as Decode does.
func Verify(r io.Reader) (Header, error) {
	head := make([]byte, headerSize)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return Header{}, err
	}
	// A short header is refused by parseHeader: not a backup, or cut.
	h, err := parseHeader(head[:n])
	if err != nil {
		return h, err
	}
	sum := sha256.New()
	sum.Write(head)
	// The last trailerSize bytes read may be the trailer: they are hashed
	// only once more follows them.
	buf := make([]byte, 64<<10)
	tail := make([]byte, 0, len(buf)+trailerSize)
	var body uint64
	for {
		n, err := r.Read(buf)
		tail = append(tail, buf[:n]...)
		if k := len(tail) - trailerSize; k > 0 {
			sum.Write(tail[:k])
			body += uint64(k)
			tail = append(tail[:0], tail[k:]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return h, err
		}
	}
	if len(tail) < trailerSize || binary.LittleEndian.Uint64(tail) != body {
		return h, ErrTruncated
	}
	if !bytes.Equal(sum.Sum(nil), tail[8:]) {
		return h, ErrChecksum
	}
	return h, nil
}

// ReadFile reads and checks the backup at path.
func ReadFile(path string) (Header, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Header{}, nil, err
	}
	h, body, err := Decode(data)
	if err != nil {
		return h, nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, body, nil
}
