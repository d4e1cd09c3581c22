package openapitest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RedoclyVersion is the version of @redocly/cli that Lint runs, the one
// .ci/run installs.
const RedoclyVersion = "2.77.0"

// redocly returns the path of the redocly command: on PATH, or where
// .ci/run installs it (npm install --prefix ~/.cache/kura-npm); "" when
// neither has it.
func redocly() string {
	if p, err := exec.LookPath("redocly"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "kura-npm", "node_modules", ".bin", "redocly")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// Lint runs redocly lint, with the repository's redocly.yaml, on doc, an
// OpenAPI description in JSON, and fails t on any error (warnings are
// logged). Without redocly it fails under CI (CI=true), where .ci/run
// installs it, and skips elsewhere, saying how to install it.
func Lint(t *testing.T, doc []byte) {
	t.Helper()
	bin := redocly()
	if bin == "" {
		msg := "redocly is not installed: npm install --prefix ~/.cache/kura-npm @redocly/cli@" + RedoclyVersion
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	file := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "lint", "--config", repoFile(t, "redocly.yaml"), file)
	// No traffic but to 127.0.0.1: no telemetry, no look for a newer version.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	t.Logf("redocly lint:\n%s", out)
}

// repoFile returns the path of name at the root of the module, found
// from the test's directory up.
func repoFile(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, name)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}
