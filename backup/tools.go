package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// program is a client program a backup runs: its path and version.
type program struct {
	name    string
	path    string
	version string // as it prints it, such as "15.19"
	mariadb bool   // MariaDB's client rather than MySQL's
}

// findProgram returns the first of names found in PATH with its version,
// or an error saying what to install.
func findProgram(ctx context.Context, install string, names ...string) (program, error) {
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			continue
		}
		out, err := exec.CommandContext(ctx, p, "--version").Output()
		if err != nil {
			return program{}, fmt.Errorf("%s --version failed: %w", n, err)
		}
		return program{name: n, path: p, version: versionIn(string(out)), mariadb: strings.Contains(string(out), "MariaDB")}, nil
	}
	return program{}, fmt.Errorf("%s not found in PATH: %s", strings.Join(names, " or "), install)
}

var versionRE = regexp.MustCompile(`(?:Distrib |from |\) |Ver )?(\d+)\.(\d+)(?:\.(\d+))?`)

// versionIn finds the version in a program's --version output: the
// "Distrib" one of MySQL's older clients, otherwise the first.
func versionIn(s string) string {
	if i := strings.Index(s, "Distrib "); i >= 0 {
		s = s[i:]
	} else if i := strings.Index(s, " from "); i >= 0 {
		s = s[i:]
	}
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	v := m[1] + "." + m[2]
	if m[3] != "" {
		v += "." + m[3]
	}
	return v
}

// olderThan says whether version a is older than b in major.minor (major
// only when minor is false).
func olderThan(a, b string, minor bool) bool {
	pa, pb := parts(a), parts(b)
	if pa == nil || pb == nil {
		return false
	}
	if pa[0] != pb[0] || !minor {
		return pa[0] < pb[0]
	}
	return pa[1] < pb[1]
}

func parts(v string) []int {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return nil
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return []int{a, b}
}

// child is how a program runs: its arguments, the variables added to the
// environment, its credentials, stdin and stdout.
type child struct {
	args   []string
	env    []string
	secret *secret // passed as descriptor 3 when it is a memory file
	stdin  io.Reader
	stdout io.Writer
}

// run runs prog as c says. The program dies with this process (on Linux),
// so that a backup or restore killed mid-way leaves no program running on.
// Its error carries the lines of what the program wrote to stderr that say
// what failed, without the data they quote (toolMessage): no row of a
// dump reaches an error, a log or a manifest, and no password either, for
// none is on its command line or in its environment.
func run(ctx context.Context, prog program, c child) error {
	cmd := exec.CommandContext(ctx, prog.path, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = c.stdin
	if c.secret != nil && c.secret.file != nil {
		cmd.ExtraFiles = []*os.File{c.secret.file}
	}
	cmd.SysProcAttr = childAttr()
	var stderr tail
	cmd.Stderr = &stderr
	// The output is copied here rather than by a goroutine of os/exec's,
	// so that what it costs (compression, the checksum) runs at the
	// caller's priority.
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	// The parent-death signal is tied to the thread that starts the
	// child: it stays this goroutine's until the child has exited.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", prog.name, err)
	}
	lowerProcess(cmd.Process.Pid)
	_, copyErr := io.Copy(c.stdout, &pacedReader{ctx: ctx, r: out})
	if copyErr != nil {
		out.Close() // the program gets EPIPE rather than blocking on a full pipe
	}
	err = cmd.Wait()
	if copyErr != nil && ctx.Err() == nil {
		return fmt.Errorf("write %s's output: %w", prog.name, copyErr) // such as a full disk
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	if msg := toolMessage(stderr.String()); errors.As(err, &ee) && msg != "" {
		return fmt.Errorf("%s failed: %s", prog.name, msg)
	}
	return fmt.Errorf("%s failed: %w", prog.name, err)
}

// tail keeps the last 4 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string { return string(bytes.ToValidUTF8(t.b, nil)) }
