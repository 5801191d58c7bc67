package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/etcdv2/server/raftactor"
)

// verifyEnv names the file a child run of this binary checks with bbolt's
// consistency check, instead of starting a member.
const verifyEnv = "ETCDV2_VERIFY_BOLT"

// verifyChild is the child's side: exit 0 for a sound file, 1 with the
// problems on stderr otherwise. A damaged file may also crash it; the
// parent takes that as the answer it is.
func verifyChild(path string) int {
	if err := raftactor.VerifyBolt(path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// verifyInChild runs bbolt's consistency check of path in a child process,
// so that a fault or a panic inside bbolt, on a damaged file, stops the child
// and not the member, which then refuses to start with the reason.
func verifyInChild(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), verifyEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if ee.ExitCode() == 1 {
		return fmt.Errorf("%s fails bbolt's consistency check: %s", path, strings.Join(lines, "; "))
	}
	// A crash: its first line names the fault or the panic.
	return fmt.Errorf("%s crashes bbolt's consistency check (%s): %s", path, ee.ProcessState, lines[0])
}
