//go:build unix

package connpark

import (
	"net"
	"syscall"
)

// Where sockets are file descriptors, the write(2) of a parked watch goes
// straight to the descriptor the runtime keeps non-blocking.

// socketOf returns c's descriptor, or -1. The descriptor is only written
// while the watch holds c open (under its lock), so it cannot be another
// connection's.
func socketOf(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if rc.Control(func(s uintptr) { fd = int(s) }) != nil {
		return -1
	}
	return fd
}

// writeNow writes to the non-blocking socket fd what it takes without
// waiting.
func writeNow(fd int, b []byte) (int, error) {
	total := 0
	for total < len(b) {
		n, err := syscall.Write(fd, b[total:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return total, nil
		case err != nil:
			return total, err
		}
		total += n
	}
	return total, nil
}
