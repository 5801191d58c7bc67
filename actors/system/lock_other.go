//go:build !unix

package system

import "os"

// dirLock is a no-op where flock does not exist: bbolt's own file lock is
// then what keeps a second member out.
type dirLock struct{}

func lockDataDir(dataDir string, create bool) (*dirLock, error) {
	if create {
		return &dirLock{}, os.MkdirAll(dataDir, 0o700)
	}
	return nil, nil
}

func (l *dirLock) writePid() error { return nil }

func (l *dirLock) release() {}
