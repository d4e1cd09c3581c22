package main

import (
	"cmp"
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
	printUsage(w, doc{synopsis: "version", about: "Print kura's version, the commit it was built from, its build date and the Go version."}, newFlagSet("version", nil))
}

func (c *versionCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("version", nil)
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "version takes no arguments")
	}
	commit, date := kura.Commit, kura.BuildDate
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value // the commit's time: the best a plain go build knows
			}
		}
	}
	_, err := fmt.Fprintln(c.m.Stdout, versionLine(kura.Version, commit, date, runtime.Version()))
	return err
}

// versionLine is what kura version prints: the version, the commit (all
// of its hash, as the Makefile sets it), the build date and Go's version.
func versionLine(version, commit, date, goVersion string) string {
	return fmt.Sprintf("kura %s (commit %s, built %s, %s)", version, cmp.Or(commit, "unknown"), cmp.Or(date, "unknown"), goVersion)
}
