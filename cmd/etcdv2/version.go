package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/etcdv2/server/httpfront"
)

// printVersion is etcd's --version: the etcd release whose API is served
// (the one /version reports as etcdserver), the commit, Go's version and
// the platform.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "etcd Version: %s\n", httpfront.ServerVersion)
	fmt.Fprintf(w, "Git SHA: %s\n", gitSHA())
	fmt.Fprintf(w, "Go Version: %s\n", runtime.Version())
	fmt.Fprintf(w, "Go OS/Arch: %s/%s\n", runtime.GOOS, runtime.GOARCH)
}

// gitSHA is the commit the binary was built from, shortened as etcd's, when
// the build recorded it.
func gitSHA() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				return s.Value[:7]
			}
		}
	}
	return "Not provided"
}
