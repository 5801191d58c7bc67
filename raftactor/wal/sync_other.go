//go:build !linux

package wal

import "os"

func preallocate(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() >= size {
		return err
	}
	return f.Truncate(size)
}

func datasync(f *os.File) error { return f.Sync() }
