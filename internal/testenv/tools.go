package testenv

import (
	osexec "os/exec"
	"testing"
)

// Tool returns the path of the command-line tool name (such as promtool),
// or skips tb with a message naming the Debian package that has it
// (failing under CI=true, where tests must not skip).
func Tool(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	path, err := osexec.LookPath(name)
	if err == nil {
		return path
	}
	msg := name + " is not installed; install it with: apt-get install " + debianPackage
	if CI() {
		tb.Fatal(msg + " (CI=true: tests must not skip)")
	}
	tb.Skip(msg)
	return ""
}
