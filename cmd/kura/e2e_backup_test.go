package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
)

// TestEndToEnd_Backups runs serve with backups scheduled: it takes one at
// start and verifies it, /health reports it, a restore over the database
// it serves is refused even with --force, and the commands list, verify,
// restore into a new database and prune, with --json.
func TestEndToEnd_Backups(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			dbURL := e.url(t)
			dir := filepath.Join(t.TempDir(), "backups")
			env := []string{"DATABASE_URL=" + dbURL, "KURA_BACKUP_DIR=" + dir, "KURA_BACKUP_VERIFY_EVERY=1",
				"KURA_JOB_POLL_INTERVAL=100ms"}
			s := startKura(t, append(env, "KURA_BACKUP_INTERVAL=1h")...)
			register(t, s, "ada@example.com", "ada").want(t, 201)

			// The backup taken at start, verified.
			var m *backup.Manifest
			testenv.Wait(t, time.Minute, "the scheduled backup, verified", func() bool {
				all, _ := backup.List(dir)
				if len(all) > 0 && all[0].Verified != nil {
					m = all[0]
					return true
				}
				return false
			})
			if !m.Verified.OK {
				t.Fatalf("the scheduled backup failed its verify: %s", m.Verified.Problem)
			}
			testenv.Wait(t, 30*time.Second, `/health's backup note "ok"`, func() bool {
				return s.do(t, "GET", "/health", "", nil).Body["backup"] == "ok"
			})

			// Not over the database a server is serving, even with --force.
			_, _, err := runKura(t, env, "", "backup", "restore", m.Name, "--to", dbURL, "--force")
			if err == nil || !strings.Contains(err.Error(), "serving") {
				t.Fatalf("restore over the served database: %v; want a refusal", err)
			}
			// Without --force, not over a database that holds tables.
			to := e.url(t)
			if strings.HasPrefix(to, "sqlite:") {
				to = "sqlite:" + filepath.Join(t.TempDir(), "restored.db")
			}
			out, _, err := runKura(t, env, "", "backup", "restore", "--latest", "--to", to, "--json")
			if err != nil {
				t.Fatalf("restore into a new database: %v", err)
			}
			var res map[string]any
			if err := json.Unmarshal([]byte(out), &res); err != nil || res["name"] != m.Name {
				t.Fatalf("restore --json: %v %q", err, out)
			}
			if strings.Contains(out, dbURL) || strings.Contains(out, to) {
				t.Fatalf("restore printed a database URL: %s", out)
			}

			// A backup by hand, listed first, then verified by name.
			out, _, err = runKura(t, env, "", "backup", "create", "--json")
			if err != nil {
				t.Fatalf("backup create: %v", err)
			}
			var created struct{ Name, Path string }
			if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name == "" {
				t.Fatalf("backup create --json: %v %q", err, out)
			}
			if _, err := os.Stat(created.Path); err != nil {
				t.Fatalf("backup create --json path: %v", err)
			}
			out, _, err = runKura(t, env, "", "backup", "list", "--json")
			var listed []struct {
				Name     string
				Verified *backup.Check
			}
			if err != nil || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 2 || listed[0].Name != created.Name {
				t.Fatalf("backup list --json: %v %q", err, out)
			}
			if _, _, err := runKura(t, env, "", "backup", "verify", created.Name); err != nil {
				t.Fatalf("backup verify: %v", err)
			}
			// Prune keeps both: they are young, and within KURA_BACKUP_KEEP.
			out, _, err = runKura(t, env, "", "backup", "prune", "--json")
			if err != nil || !strings.Contains(out, `"deleted": []`) {
				t.Fatalf("backup prune: %v %q", err, out)
			}
		})
	}
}

// TestBackup_CommandLine covers the backup commands' mistakes: each is a
// clear error with the usual exit status, and nothing is made.
func TestBackup_CommandLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "none.db"), "KURA_BACKUP_DIR=" + dir}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"backup", "create", "extra"}, 2, "takes no arguments"},
		{[]string{"backup", "verify"}, 2, "NAME or --latest"},
		{[]string{"backup", "restore", "kura-x"}, 2, "--to"},
		{[]string{"backup", "create"}, 1, "no database file"},
		{[]string{"backup", "verify", "--latest"}, 1, "holds no backup"},
		{[]string{"backup", "verify", "nonsense"}, 1, "no such backup"},
	} {
		_, _, err := runKura(t, env, "", c.args...)
		if code := exitCode(err, &strings.Builder{}); code != c.code || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("kura %s: exit %d (%v); want %d and %q", strings.Join(c.args, " "), code, err, c.code, c.want)
		}
	}
	if _, err := os.Stat(strings.TrimPrefix(env[0], "DATABASE_URL=sqlite:")); !os.IsNotExist(err) {
		t.Errorf("a backup command made the SQLite file: %v", err)
	}
}
