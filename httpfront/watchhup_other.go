//go:build !linux

package httpfront

// hangups is Linux's only: elsewhere a client gone is noticed at
// WatchMaxWait.
type hangups struct{}

func newHangups(*lot) *hangups         { return nil }
func (h *hangups) watch(*parkedWatch)  {}
func (h *hangups) forget(*parkedWatch) {}
