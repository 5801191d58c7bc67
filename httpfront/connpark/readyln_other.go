//go:build !linux

package connpark

import "net"

// listenReady serves connections as accepted where epoll is not available:
// fasthttp holds them while they wait, and parked watches reach it through
// its hijacking alone.
func listenReady(ln net.Listener, _ *Engine) net.Listener { return ln }
