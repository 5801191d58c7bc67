package main

import (
	"fmt"
	"io"
)

const usageLine = `Usage:

  etcdv2 [flags]
    Start a member of an etcd v2 API server.

  etcdv2 --version
    Show the version of etcd whose API is served.

  etcdv2 -h | --help
    Show the help information.

  etcdv2 --config-file
    Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.
`

// printHelp prints the flags grouped as etcd's --help groups them, each with
// its default and its environment variable, and says which are ignored.
func printHelp(w io.Writer) {
	fs := newFlagSet(newOptions())
	fmt.Fprint(w, usageLine+"\n")
	for _, g := range fs.groups {
		if g.title == "" {
			continue
		}
		fmt.Fprintf(w, "%s:\n", g.title)
		for _, d := range g.flags {
			fmt.Fprintf(w, "  --%s %s  [$%s]\n    %s", d.name, d.shown, flagToEnv(d.name), d.usage)
			switch d.use {
			case ignored:
				fmt.Fprint(w, " Ignored: no meaning for the v2 API.")
			case unsupported:
				fmt.Fprint(w, " Only the default is accepted.")
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Every flag may also be given as its environment variable, or as a key of the --config-file YAML file.")
}
