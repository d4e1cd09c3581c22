package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/kura-dev/kura"
)

// versionCommand prints kura's version, commit and Go version.
type versionCommand struct{ m *Main }

func (c *versionCommand) Usage(w io.Writer) {
	printUsage(w, doc{synopsis: "version", about: "Print kura's version, the commit it was built from and the Go version."}, newFlagSet("version", nil))
}

func (c *versionCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("version", nil)
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "version takes no arguments")
	}
	commit := kura.Commit
	if info, ok := debug.ReadBuildInfo(); ok && commit == "" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	_, err := fmt.Fprintf(c.m.Stdout, "kura %s (commit %s, %s)\n", kura.Version, commit, runtime.Version())
	return err
}
