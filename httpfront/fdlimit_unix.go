//go:build unix

package httpfront

import "syscall"

// fdLimit is the process's soft limit of open files (etcd's
// file_descriptor_limit).
func fdLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true
}
