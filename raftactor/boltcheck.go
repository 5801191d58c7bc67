package raftactor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// bbolt trusts its file. A damaged newest meta page makes it fall back to the
// other one silently, losing the last transaction (and so an acknowledged
// index would be handed out again); a file shorter than its pages, or a page
// id pointing past them, makes a read of the memory map fault (SIGBUS) or
// panic, in goroutines of bbolt's own where nothing can recover. So before
// bbolt maps the file, its two meta pages and its length are checked here,
// and the rest is left to bbolt's own consistency check, run where a crash
// is only an answer (Config.VerifyFile: the binary runs it in a child).

// Where bbolt keeps things in a meta page: a 16-byte page header, then the
// meta fields, in the machine's byte order (little-endian everywhere this
// builds for).
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltMetaFlag    = 0x04
	pageHeaderLen   = 16
	metaSumOffset   = 56 // the checksum covers the fields before it
	metaLen         = 64
	noFreelistPage  = ^uint64(0)
	minBoltFileSize = 2 * 4096
)

type boltMeta struct {
	pageSize           uint32
	root, freelist, hw uint64
	txid               uint64
}

// checkBoltFile refuses a file bbolt would misread, and returns its size. A
// missing or empty file is a fresh one (the caller knows whether it may be).
func checkBoltFile(path string) (size int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size = fi.Size()
	if size == 0 {
		return 0, nil
	}
	if size < minBoltFileSize {
		return size, fmt.Errorf("%w: %s is truncated: %d bytes, shorter than its two meta pages", errCorruptLog, path, size)
	}
	m0, err := readBoltMeta(f, 0)
	if err != nil {
		return size, fmt.Errorf("%w: %s: meta page 0 is damaged (%v)", errCorruptLog, path, err)
	}
	m1, err := readBoltMeta(f, int64(m0.pageSize))
	if err != nil {
		return size, fmt.Errorf("%w: %s: meta page 1 is damaged (%v)", errCorruptLog, path, err)
	}
	newest := m0
	if m1.txid > m0.txid {
		newest = m1
	}
	if need := int64(newest.hw) * int64(newest.pageSize); size < need {
		return size, fmt.Errorf("%w: %s is truncated: %d bytes, its newest transaction needs %d", errCorruptLog, path, size, need)
	}
	return size, nil
}

func readBoltMeta(f *os.File, at int64) (*boltMeta, error) {
	var b [pageHeaderLen + metaLen]byte
	if _, err := f.ReadAt(b[:], at); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if flags := binary.LittleEndian.Uint16(b[8:]); flags != boltMetaFlag {
		return nil, fmt.Errorf("page flags %#x, not a meta page", flags)
	}
	m := b[pageHeaderLen:]
	if binary.LittleEndian.Uint32(m) != boltMagic {
		return nil, errors.New("no bbolt magic")
	}
	if v := binary.LittleEndian.Uint32(m[4:]); v != boltVersion {
		return nil, fmt.Errorf("bbolt version %d", v)
	}
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if h.Sum64() != binary.LittleEndian.Uint64(m[metaSumOffset:]) {
		return nil, errors.New("checksum mismatch")
	}
	meta := &boltMeta{
		pageSize: binary.LittleEndian.Uint32(m[8:]),
		root:     binary.LittleEndian.Uint64(m[16:]),
		freelist: binary.LittleEndian.Uint64(m[32:]),
		hw:       binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}
	if meta.pageSize < 512 || meta.pageSize&(meta.pageSize-1) != 0 {
		return nil, fmt.Errorf("page size %d", meta.pageSize)
	}
	if meta.root >= meta.hw || (meta.freelist >= meta.hw && meta.freelist != noFreelistPage) {
		return nil, fmt.Errorf("root page %d or freelist page %d past the high water mark %d", meta.root, meta.freelist, meta.hw)
	}
	return meta, nil
}

// VerifyBolt runs bbolt's own consistency check of the file at path. A
// damaged file can crash it (a fault in the memory map, a panic in a
// goroutine of bbolt's): run it in a process of its own.
func VerifyBolt(path string) error {
	if _, err := checkBoltFile(path); err != nil {
		return err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			if len(errs) < 10 {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// guard turns a panic, or a fault in the memory map, while fn reads the
// file into an error: with a file checked beforehand neither should happen,
// and if one does the member must still stop with its reason.
func guard(what string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s: %v", errCorruptLog, what, p)
		}
	}()
	return fn()
}
