package raftactor

import (
	"encoding/binary"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// logFormat is the layout of the values this build writes: 2 seals every
// value with a checksum (boltcodec.go). Format 1, the same layout without
// the seals, was written before; a file of it is sealed in place on open,
// in the same transaction that records the new format, so a crash leaves
// either format whole.
const logFormat = 2

// readFormat is the file's format; 0 when none is recorded (format 1, or a
// fresh file).
func readFormat(tx *bolt.Tx) (int, error) {
	v := tx.Bucket(bucketMeta).Get(keyFormat)
	if v == nil {
		return 0, nil
	}
	f, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, fmt.Errorf("%w: format %q", errCorruptLog, v)
	}
	return f, nil
}

// settleFormat makes the file's values sealed (format 2, or 3 once the log
// has moved to the WAL, see logstore.go), or refuses a file it cannot read.
func settleFormat(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	f, err := readFormat(tx)
	if err != nil {
		return err
	}
	if f == logFormat || f == walFormat {
		return nil
	}
	if f != 0 {
		return fmt.Errorf("raft log: format %d, this build reads formats %d and %d: start the build that wrote it", f, logFormat, walFormat)
	}
	if err := sealFormat1(tx); err != nil {
		return fmt.Errorf("raft log: sealing a format 1 file: %w", err)
	}
	return meta.Put(keyFormat, []byte(strconv.Itoa(logFormat)))
}

// sealFormat1 appends the seal to every value of a file written before
// values were sealed (an empty, fresh file has none).
func sealFormat1(tx *bolt.Tx) error {
	ents := tx.Bucket(bucketEntries)
	type kv struct{ k, v []byte }
	var all []kv
	// Collected first: a Put under a moving cursor would make it skip keys.
	err := ents.ForEach(func(k, v []byte) error {
		all = append(all, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range all {
		if len(e.k) != 8 {
			return fmt.Errorf("%w: entry key of %d bytes", errCorruptLog, len(e.k))
		}
		if _, err := decodeEntryPayload(binary.BigEndian.Uint64(e.k), e.v); err != nil {
			return err
		}
		if err := ents.Put(e.k, seal(e.v, e.k, 0)); err != nil {
			return err
		}
	}
	meta, snap := tx.Bucket(bucketMeta), tx.Bucket(bucketSnap)
	for _, kb := range []struct {
		b *bolt.Bucket
		k []byte
	}{{meta, keyHardState}, {meta, keyConfState}, {snap, keySnapMeta}} {
		if v := kb.b.Get(kb.k); v != nil {
			if err := kb.b.Put(kb.k, seal(append([]byte(nil), v...), kb.k, 0)); err != nil {
				return err
			}
		}
	}
	if data := snap.Get(keySnapData); data != nil {
		return snap.Put(keySnapSum, snapSum(data))
	}
	return nil
}
