//go:build !unix

package connpark

import "net"

// Elsewhere (Windows) a socket is no file descriptor that write(2) takes, so
// a parked watch has none: its writes all go the slow way, through the
// connection with a deadline (watchwrite.go).

func socketOf(net.Conn) int { return -1 }

// writeNow is never called without a descriptor.
func writeNow(int, []byte) (int, error) { return 0, nil }
