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

// dirLock holds a data dir for this process: an exclusive flock on the
// directory itself, so that taking it writes nothing (a member refused at
// start leaves its data dir as it was). The kernel drops it when the process
// ends, however it ends, so a crashed member leaves no stale lock. Once the
// member is going to write anyway, its pid goes to <data-dir>/lock, for the
// refusal of the next one to name it.
type dirLock struct {
	dir string
	f   *os.File
}

func lockPath(dataDir string) string { return filepath.Join(dataDir, "lock") }

// lockDataDir takes the data dir's lock; create makes the dir first, else a
// dir that does not exist yet gives a nil lock (and nothing is created). A
// dir another process holds is refused at once, naming that process.
func lockDataDir(dataDir string, create bool) (*dirLock, error) {
	if create {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(dataDir)
	if errors.Is(err, os.ErrNotExist) && !create {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := "unknown"
			if b, rerr := os.ReadFile(lockPath(dataDir)); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
				pid = strings.TrimSpace(string(b))
			}
			return nil, fmt.Errorf("data dir %s is in use by another member (pid %s)", dataDir, pid)
		}
		return nil, fmt.Errorf("locking data dir %s: %w", dataDir, err)
	}
	return &dirLock{dir: dataDir, f: f}, nil
}

// writePid records this process as the holder.
func (l *dirLock) writePid() error {
	tmp := lockPath(l.dir) + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, lockPath(l.dir))
}

// release lets the next member take the data dir; nil is a no-op.
func (l *dirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
