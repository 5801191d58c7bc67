//go:build !linux

package httpfront

import (
	"net"

	"github.com/rs/zerolog"
)

// listenReady serves connections as accepted where epoll is not available.
func listenReady(ln net.Listener, _ zerolog.Logger, _ *Server) net.Listener { return ln }
