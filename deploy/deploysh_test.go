package deploy_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// restartScript stands for systemctl restart kura on the test's "server":
// it stops the kura process of the pid file with SIGTERM, waits for it to
// exit (at most 30 s), and starts the installed binary again in the
// background.
const restartScript = `#!/usr/bin/env bash
set -euo pipefail
srv=$(dirname "$0")
if [ -f "$srv/kura.pid" ]; then
  pid=$(cat "$srv/kura.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    if [ -z "$state" ] || [ "$state" = Z ]; then break; fi
    sleep 0.1
  done
fi
nohup "$srv/opt/kura/bin/kura" serve --env-file "$srv/kura.env" >>"$srv/kura.log" 2>&1 </dev/null &
echo $! >"$srv/kura.pid"
`

// brokenScript is a new "binary" that fails its health check: it crashes
// at start, as a bad build would, while its other commands (version,
// backup, migrate, healthcheck) are a real kura's.
const brokenScript = `#!/bin/sh
if [ "$1" = serve ]; then echo "kura: this build crashes at start" >&2; exit 2; fi
exec %s "$@"
`

// server is a temporary folder standing for a host kura is deployed to.
type server struct {
	dir, envFile, base string
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	s := &server{dir: dir, envFile: filepath.Join(dir, "kura.env"), base: "http://127.0.0.1:" + port}
	env := strings.Join([]string{
		"DATABASE_URL=sqlite:" + filepath.Join(dir, "data", "kura.db"),
		"KURA_BACKUP_DIR=" + filepath.Join(dir, "backups"),
		"KURA_ADDR=127.0.0.1:" + port,
		"KURA_METRICS_ADDR=",
		"KURA_LOG_FLUSH_INTERVAL=0",
		"KURA_BACKUP_INTERVAL=0", // only deploy.sh's backups, to count them
	}, "\n") + "\n"
	if err := os.WriteFile(s.envFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "restart"), []byte(restartScript), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "kura.log"))
			t.Logf("kura's log on the server:\n%s", b)
		}
	})
	return s
}

// stop ends the server's kura process, if any.
func (s *server) stop(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(s.dir, "kura.pid"))
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	if err := testenv.WaitErr(30*time.Second, func() bool { return !alive(pid) }); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("kura (pid %d) did not stop on SIGTERM: %v", pid, err)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// deploy runs deploy.sh with NEW_BINARY new and returns its output and
// exit status.
func (s *server) deploy(t *testing.T, new string, timeout int) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", "deploy.sh", "--no-unit", "--prefix", filepath.Join(s.dir, "opt", "kura"), "--env-file", s.envFile,
		"--restart", filepath.Join(s.dir, "restart"), "--timeout", strconv.Itoa(timeout), new)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("deploy.sh: %v\n%s", err, out)
	return "", 0
}

// version returns the version GET / reports.
func (s *server) version(t *testing.T) string {
	t.Helper()
	return servedVersion(t, s.base, filepath.Join(s.dir, "kura.log"))
}

// servedVersion returns the version of the kura that answers at base:
// GET / answers (it does not tell the version to anonymous callers), and
// the last "kura serving" line of its log names the version.
func servedVersion(t *testing.T, base, logFile string) string {
	t.Helper()
	post(t, base+"/", "", "", 200)
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	version := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `msg="kura serving"`) {
			if _, v, ok := strings.Cut(line, " version="); ok {
				version, _, _ = strings.Cut(v, " ")
			}
		}
	}
	return version
}

// backups returns the names of the server's backups (their manifests).
func (s *server) backups(t *testing.T) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(s.dir, "backups", "*.json"))
	return m
}

// TestDeployScript deploys to a temporary server without systemd
// (--no-unit), whose kura is restarted by a script: a first install, a
// good deploy (backup, migrations, swap, restart, healthy), and one whose
// new binary crashes at start, after which the previous binary serves
// again and no account was lost. Without a unit deploy.sh cannot see the
// process exit, and waits for the whole --timeout.
func TestDeployScript(t *testing.T) {
	testenv.Tool(t, "flock", "util-linux")
	v1, v2 := kuraBinary(t, "v0.0.1-deploy"), kuraBinary(t, "v0.0.2-deploy")
	s := newServer(t)

	out, code := s.deploy(t, v1, 60)
	if code != 0 || s.version(t) != "v0.0.1-deploy" || !strings.Contains(out, "first install") {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	roundTrip(t, s.base, true)

	out, code = s.deploy(t, v2, 60)
	if code != 0 {
		t.Fatalf("deploy of v0.0.2: exit %d\n%s", code, out)
	}
	if got := s.version(t); got != "v0.0.2-deploy" {
		t.Fatalf("after the deploy the server reports %s, want v0.0.2-deploy\n%s", got, out)
	}
	prev, err := exec.Command(filepath.Join(s.dir, "opt/kura/bin/kura.previous"), "version").Output()
	if err != nil || !strings.Contains(string(prev), "v0.0.1-deploy") {
		t.Fatalf("kura.previous is not the replaced binary: %q %v", prev, err)
	}
	// The first install had nothing to back up; the upgrade took one.
	if n := len(s.backups(t)); n != 1 || !strings.Contains(out, "pre-deploy backup: ") {
		t.Fatalf("%d backups after an install and an upgrade, want 1\n%s", n, out)
	}
	roundTrip(t, s.base, false)

	broken := filepath.Join(t.TempDir(), "kura-broken")
	if err := os.WriteFile(broken, []byte(fmt.Sprintf(brokenScript, v2)), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, code = s.deploy(t, broken, 5)
	t.Logf("the failed deploy and its rollback took %s", time.Since(start).Round(time.Millisecond))
	if code != 1 {
		t.Fatalf("deploy of a broken binary: exit %d, want 1 (rolled back)\n%s", code, out)
	}
	for _, want := range []string{"not healthy within 5s", "rolling back", "rolled back: kura v0.0.2-deploy", "backup restore", "--force kura-",
		"database: sqlite file " + filepath.Join(s.dir, "data", "kura.db")} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy.sh's output lacks %q:\n%s", want, out)
		}
	}
	if got := s.version(t); got != "v0.0.2-deploy" {
		t.Fatalf("after the rollback the server reports %s, want v0.0.2-deploy", got)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "opt/kura/bin/kura.failed")); err != nil {
		t.Errorf("the failed binary was not kept: %v", err)
	}
	roundTrip(t, s.base, false) // ann, made before both deploys, is still there
	if n := len(s.backups(t)); n != 2 {
		t.Errorf("%d backups, want 2 (one before each upgrade)", n)
	}
}

// TestDeployScript_Refuses: mistakes stop deploy.sh before anything
// changes, with a line naming what to fix.
func TestDeployScript_Refuses(t *testing.T) {
	s := newServer(t)
	notBinary := filepath.Join(t.TempDir(), "kura")
	os.WriteFile(notBinary, []byte("\x7fELF truncated"), 0o755)
	noUnit := []string{"--no-unit", "--env-file", s.envFile, "--restart", "true"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(noUnit, "/no/such/kura"), "no such file"},
		{append(noUnit, notBinary), "does not run on this host"},
		{append(noUnit, "--timeout", "soon", notBinary), "--timeout (KURA_HEALTH_TIMEOUT)"},
		{append(noUnit, "--frobnicate", notBinary), "unknown option --frobnicate"},
		// Without a unit, the configuration and the restart are named.
		{[]string{"--no-unit", "--restart", "true", notBinary}, "--no-unit needs --env-file"},
		{[]string{"--no-unit", "--env-file", s.envFile, notBinary}, "--no-unit needs --restart"},
		// The old way, an env file alone, on a host where systemd has no
		// unit kura (or does not run): refused, not read as the service's.
		{[]string{"--env-file", s.envFile, "--restart", "true", notBinary}, "--no-unit --env-file FILE --restart CMD"},
	} {
		cmd := exec.Command("bash", append([]string{"deploy.sh", "--prefix", filepath.Join(s.dir, "opt", "kura")}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("deploy.sh %v: want a failure saying %q, got %v:\n%s", tc.args, tc.want, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(s.dir, "opt/kura/bin/kura")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused deploy installed something: %v", err)
	}

	// A host with the unit: a prefix that is not the binary it runs, and
	// an env file that is not the unit's, are refused.
	u := newUnitServer(t, "")
	v1 := kuraBinary(t, "v0.0.1-deploy")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--prefix", filepath.Join(u.root, "elsewhere"), v1}, "the unit kura runs " + filepath.Join(u.root, "opt/kura/bin/kura") + ", not "},
		{[]string{"--env-file", s.envFile, v1}, "is not an environment file of the unit kura"},
		{[]string{"--unit", "kura-api", v1}, "there is no systemd unit kura-api"},
	} {
		out, code := u.deploy(t, t.TempDir(), 60, tc.args...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("deploy.sh %v: want a failure saying %q, got exit %d:\n%s", tc.args, tc.want, code, out)
		}
	}
	if _, err := os.Stat(filepath.Join(u.root, "opt/kura/bin/kura")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused deploy installed something: %v", err)
	}
}
