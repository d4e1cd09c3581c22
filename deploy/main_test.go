// Package deploy_test checks the deployment files of this folder with the
// tools their users run: the image is built and run on a real Docker
// engine, docker-compose reads the compose file, systemd-analyze verifies
// the units, shellcheck reads deploy.sh, and deploy.sh deploys real kura
// binaries to a temporary "server"; haproxy and nginx run the shipped
// configs in front of three instances that are restarted under load, and
// rolling.sh upgrades them one at a time.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kura-dev/kura/internal/testenv"
)

// binDir holds the kura binaries the tests build, for the whole run.
var binDir string

func TestMain(m *testing.M) {
	// Run as systemctl, journalctl or a service's supervisor by the deploy
	// tests' stand-in for systemd (fakesystemd_test.go).
	if tool := os.Getenv("KURA_FAKE_SYSTEMD_TOOL"); tool != "" {
		os.Exit(fakeSystemd(tool, os.Getenv("KURA_FAKE_SYSTEMD_ROOT"), os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "kura-deploy-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	testenv.VerifyNoLeaks(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// kuraBinary returns a static linux kura binary (CGO_ENABLED=0, as the
// Makefile builds it) that reports version, built once per run. Builds of
// other versions only link again.
func kuraBinary(t *testing.T, version string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[version]; ok {
		return p
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(binDir, "kura-"+version)
	// The Makefile's own build target: its -ldflags are what is tested.
	cmd := exec.Command(testenv.Tool(t, "make", "make"), "-s", "-C", "..", "build", "GO="+goTool, "OUT="+out,
		"VERSION="+version, "COMMIT=test", "BUILD_DATE="+time.Now().UTC().Format(time.RFC3339))
	cmd.Env = append(os.Environ(), "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build %s: %v\n%s", version, err, b)
	}
	built[version] = out
	return out
}

// runTool runs a command-line tool and fails the test with its output
// unless it succeeds.
func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, b)
	}
	return string(b)
}

// runStdout is runTool for a command whose standard output is read alone
// (its logs go to standard error).
func runStdout(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, stderr.String())
	}
	return string(b)
}
