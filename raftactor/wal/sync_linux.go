package wal

import (
	"os"
	"syscall"
)

// preallocate gives f its blocks up to size without changing what it holds,
// so an append's fdatasync has no size or allocation to write.
func preallocate(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		return nil
	}
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err == nil {
		return nil
	}
	return f.Truncate(size) // a file system without fallocate
}

func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
