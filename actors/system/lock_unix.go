//go:build unix

package system

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dirLock holds a data dir for this process: an exclusive flock on
// <data-dir>/lock, which holds the pid of its holder. The kernel drops it
// when the process ends, however it ends, so a crashed member leaves no
// stale lock behind.
type dirLock struct{ f *os.File }

func lockPath(dataDir string) string { return filepath.Join(dataDir, "lock") }

// lockDataDir takes the data dir's lock; create makes the dir first, else a
// dir that does not exist yet gives a nil lock (and nothing is created). A
// dir another process holds is refused at once, naming that process.
func lockDataDir(dataDir string, create bool) (*dirLock, error) {
	if create {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	f, err := os.OpenFile(lockPath(dataDir), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(lockPath(dataDir))
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("data dir %s is in use by another member (pid %s)", dataDir, pid)
		}
		return nil, fmt.Errorf("locking data dir %s: %w", dataDir, err)
	}
	// The pid is for the next member's refusal, so it can say who holds it.
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the lock of data dir %s: %w", dataDir, err)
	}
	return &dirLock{f: f}, nil
}

// release lets the next member take the data dir; nil is a no-op.
func (l *dirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
