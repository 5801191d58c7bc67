package main

// Ports for the members the tests start: never handed out twice, and a
// member started again when another process took one.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// handedOut holds every loopback port this test binary has chosen. A port
// freePort returns is free again until the member binds it, and a killed
// member's ports are free until it restarts: meanwhile the kernel may give
// the same port to the next bind to port 0, ours included. Two members
// handed one client port leave the second unable to start, and its URL
// answered by the first: a cluster whose "two leaders" name one leader.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// listenFresh listens on a loopback port that no other listenFresh or
// freePort of this binary has returned.
func listenFresh(t *testing.T) net.Listener {
	t.Helper()
	for try := 0; try < 100; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		handedOut.Lock()
		fresh := !handedOut.ports[port]
		if fresh {
			if handedOut.ports == nil {
				handedOut.ports = map[int]bool{}
			}
			handedOut.ports[port] = true
		}
		handedOut.Unlock()
		if fresh {
			return ln
		}
		ln.Close()
	}
	t.Fatal("no loopback port this test binary has not used before, in 100 tries")
	return nil
}

// freePort is a loopback port nobody listens on now and that this binary
// has not chosen before; another process may still take it before the
// member binds it (member.start and startServer try again then).
func freePort(t *testing.T) int {
	t.Helper()
	ln := listenFresh(t)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitBound waits until s's process listens on every one of ports, and
// returns 0; or, if it could not bind one because another process holds
// it, reaps the process and returns that port. It returns 0 too when the
// process exits for another reason, or has not bound them within d, and
// at once where the kernel does not show who listens (no /proc).
func waitBound(s *server, d time.Duration, ports ...int) int {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		return 0
	}
	pid := s.cmd.Process.Pid
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if port := busyPort(s.logs.String()); port != 0 {
			s.kill()
			return port
		}
		if exited(pid) {
			return 0
		}
		all := true
		for _, p := range ports {
			all = all && listening(pid, p)
		}
		if all {
			return 0
		}
	}
	return 0
}

// busyPort is the port of a "listen tcp 127.0.0.1:P: bind: address
// already in use" in logs, or 0.
func busyPort(logs string) int {
	i := strings.Index(logs, ": bind: address already in use")
	if i < 0 {
		return 0
	}
	j := strings.LastIndexByte(logs[:i], ':')
	if j < 0 {
		return 0
	}
	var port int
	fmt.Sscan(logs[j+1:i], &port)
	return port
}

// exited says whether process pid is gone or a zombie (exited, not reaped).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// listening says whether process pid holds a socket listening on
// 127.0.0.1:port: one of /proc/net/tcp's listeners on it is among its fds.
func listening(pid, port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	socks := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) >= 10 && f[1] == local && f[3] == "0A" {
			socks["socket:["+f[9]+"]"] = true
		}
	}
	if len(socks) == 0 {
		return false
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && socks[l] {
			return true
		}
	}
	return false
}
