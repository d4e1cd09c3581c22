package main

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-dev/kura/sqldb"
)

// passwordsOf returns the password of each URL, as written and decoded,
// for a test to search a command line or an output for.
func passwordsOf(t *testing.T, urls ...string) []string {
	t.Helper()
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		pw, ok := u.User.Password()
		if !ok || pw == "" {
			t.Fatalf("the URL of %s has no password: the test would prove nothing", u.Redacted())
		}
		out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	return out
}

// containsAny reports the first of secrets that s contains.
func containsAny(s string, secrets []string) (string, bool) {
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			return sec, true
		}
	}
	return "", false
}

// usernames returns the usernames in the users table of the database at
// dbURL, comma-separated in id order.
func usernames(t *testing.T, dbURL string) string {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Reader().Query("SELECT username FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// TestBackup_RestoreToEnv restores over the database under least-privilege
// roles, on PostgreSQL and MariaDB, naming the target by its variable
// (--to-env KURA_MIGRATE_DATABASE_URL, as the docs and deploy.sh say), then
// by a variable of the .env file: no password is on the command line or in
// the output, and the restore puts the backup's rows back.
func TestBackup_RestoreToEnv(t *testing.T) {
	for _, e := range engines[1:] {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			admin := e.url(t)
			migURL, appURL := roleURLs(t, admin)
			secrets := passwordsOf(t, migURL, appURL)
			dir := filepath.Join(t.TempDir(), "backups")
			env := []string{"DATABASE_URL=" + appURL, "KURA_MIGRATE_DATABASE_URL=" + migURL, "KURA_BACKUP_DIR=" + dir}
			mustRun := func(stdin string, args ...string) (stdout, all string) {
				t.Helper()
				if sec, ok := containsAny(strings.Join(args, " "), secrets); ok {
					t.Fatalf("the command line %q holds the password %q", args, sec)
				}
				out, logs, err := runKura(t, env, stdin, args...)
				if err != nil {
					t.Fatalf("%v: %v\n%s", args, err, logs)
				}
				if sec, ok := containsAny(out+logs, secrets); ok {
					t.Fatalf("%v printed the password %q:\n%s%s", args, sec, out, logs)
				}
				return out, out + logs
			}
			mustRun("a long password 1\n", "users", "create", "--email", "ann@example.com", "--username", "ann")
			var created struct{ Name string }
			out, _ := mustRun("", "backup", "create", "--json")
			if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name == "" {
				t.Fatalf("backup create --json: %v", err)
			}
			mustRun("a long password 2\n", "users", "create", "--email", "bob@example.com", "--username", "bob")

			_, all := mustRun("", "backup", "restore", created.Name, "--to-env", "KURA_MIGRATE_DATABASE_URL", "--force")
			if !strings.Contains(all, "target: "+e.name) {
				t.Errorf("restore did not name its target:\n%s", all)
			}
			if got := usernames(t, admin); got != "ann" {
				t.Fatalf("users after the restore: %q, want ann (bob came after the backup)", got)
			}

			// The variable may be the .env file's alone.
			mustRun("a long password 3\n", "users", "create", "--email", "cyd@example.com", "--username", "cyd")
			envFile := filepath.Join(t.TempDir(), "restore.env")
			if err := os.WriteFile(envFile, []byte("RESTORE_TARGET='"+migURL+"'\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun("", "backup", "restore", "--latest", "--env-file", envFile, "--to-env", "RESTORE_TARGET", "--force")
			if got := usernames(t, admin); got != "ann" {
				t.Fatalf("users after the restore from the .env file's variable: %q, want ann", got)
			}
		})
	}
}

// TestBackup_RestoreTargetFlags: the mistakes of --to and --to-env are
// refused before anything is read or changed, naming the flag and never
// the URL; --to with a password works and warns.
func TestBackup_RestoreTargetFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db"), "KURA_BACKUP_DIR=" + dir}
	for _, args := range [][]string{{"migrate", "up"}, {"backup", "create"}} {
		if _, logs, err := runKura(t, env, "", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, logs)
		}
	}
	dbFile := filepath.Join(t.TempDir(), "restored.db")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--latest"}, 2, "needs --to-env VARIABLE or --to URL"},
		{[]string{"--latest", "--to", dbFile, "--to-env", "DATABASE_URL"}, 2, "not both"},
		{[]string{"--latest", "--to-env", "NOT A NAME"}, 2, `--to-env "NOT A NAME" is not a variable's name`},
		{[]string{"--latest", "--to-env", "KURA_NO_SUCH_TARGET"}, 1, "--to-env KURA_NO_SUCH_TARGET: the variable is not set (looked in the environment)"},
		{[]string{"--latest", "--to-env", "BAD_TARGET"}, 1, "--to-env BAD_TARGET: "},
	} {
		e := append(env, "BAD_TARGET=postgres://u:p@ss@127.0.0.1/kura")
		_, _, err := runKura(t, e, "", append([]string{"backup", "restore"}, tc.args...)...)
		if code := exitCode(err, io.Discard); code != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: exit %d, %v; want %d and %q", tc.args, code, err, tc.code, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "p@ss") {
			t.Errorf("%v: the error quotes the password: %v", tc.args, err)
		}
	}
	if _, err := os.Stat(dbFile); err == nil {
		t.Fatal("a refused restore made the target")
	}

	// --to with a password is taken, saying what to use instead (this one
	// then fails: a SQLite backup does not restore into PostgreSQL).
	_, logs, err := runKura(t, env, "", "backup", "restore", "--latest", "--to", "postgres://kura:restore-secret-pw@127.0.0.1:1/kura")
	if err == nil || !strings.Contains(logs, "--to holds a password") || !strings.Contains(logs, "--to-env") {
		t.Errorf("restore --to with a password: %v; want a warning naming --to-env\n%s", err, logs)
	}
	if strings.Contains(logs+err.Error(), "restore-secret-pw") {
		t.Errorf("restore printed the password:\n%s%v", logs, err)
	}
}
