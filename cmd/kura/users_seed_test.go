package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/sqldb"
)

// TestUsersSeed_SaysWhere: kura users seed without --count is refused and
// touches no database; with it, it names the database it adds to (engine,
// address or file, name; never a password) before it writes, and --json
// says what it did. On PostgreSQL and MariaDB as least-privilege roles,
// whose URLs carry passwords.
func TestUsersSeed_SaysWhere(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL}
		var secrets []string
		if !strings.HasPrefix(dbURL, "sqlite:") {
			migURL, appURL := roleURLs(t, dbURL)
			secrets = passwordsOf(t, migURL, appURL)
			env = []string{"DATABASE_URL=" + appURL, "KURA_MIGRATE_DATABASE_URL=" + migURL}
		}

		_, logs, err := runKura(t, env, "", "users", "seed")
		if code := exitCode(err, io.Discard); code != 2 || !strings.Contains(err.Error(), "--count") {
			t.Fatalf("users seed without --count: exit %d, %v; want 2 naming --count", code, err)
		}
		if strings.Contains(logs, "adding") || hasUsersTable(t, dbURL) {
			t.Fatalf("users seed without --count acted on the database:\n%s", logs)
		}

		out, logs, err := runKura(t, env, "", "users", "seed", "--count", "7", "--json")
		if err != nil {
			t.Fatalf("users seed --count 7 --json: %v\n%s", err, logs)
		}
		if sec, ok := containsAny(out+logs, secrets); ok {
			t.Fatalf("users seed printed the password %q:\n%s%s", sec, out, logs)
		}
		want, err := backup.SourceOf(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		announce := "adding 7 users"
		before, _, found := strings.Cut(logs, "database open")
		if !found || !strings.Contains(before, announce) || !strings.Contains(before, "to "+want.Where()) {
			t.Fatalf("users seed did not say what it adds to %s before it opened the database:\n%s", want.Where(), logs)
		}
		var res struct {
			Users    int
			Database map[string]string
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Users != 7 ||
			res.Database["engine"] != want.Engine || res.Database["address"] != want.Address || res.Database["database"] != want.Database {
			t.Fatalf("users seed --json: %v\n%s", err, out)
		}
		if got := strings.Count(usernames(t, dbURL), ","); got != 6 {
			t.Fatalf("%d users in the database after seeding 7", got+1)
		}
	})
}

// hasUsersTable reports whether the database at dbURL has kura's users
// table, without creating a missing SQLite file.
func hasUsersTable(t *testing.T, dbURL string) bool {
	t.Helper()
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		if _, err := os.Stat(path); err != nil {
			return false
		}
	}
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	return db.Reader().QueryRow("SELECT count(*) FROM users").Scan(&n) == nil
}
