package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/kura-dev/kura"
)

// version prints kura's version, commit and Go version.
func (m *Main) version(args []string) error {
	fs, _ := m.newFlagSet("version", "version")
	if err := m.parseFlags(fs, args); err != nil {
		return err
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
	_, err := fmt.Fprintf(m.Stdout, "kura %s (commit %s, %s)\n", kura.Version, commit, runtime.Version())
	return err
}
