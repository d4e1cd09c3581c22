package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/sqldb/roles"
)

// roleURLs applies kura db roles to the superuser's database adminURL
// with role names of the test's own, drops the roles when the test ends,
// and returns the migration role's URL and the application role's.
func roleURLs(t *testing.T, adminURL string) (migrateURL, appURL string) {
	t.Helper()
	sfx := testenv.RandomSuffix()
	mig, app := "kura_migrate_"+sfx, "kura_app_"+sfx
	t.Cleanup(func() { dropRoles(t, adminURL, mig, app) })
	env := []string{"DATABASE_URL=" + adminURL, migratePasswordEnv + "=migr'ate pw", appPasswordEnv + "=app pw 1"}
	out, logs, err := runKura(t, env, "", "db", "roles", "--migrate-role", mig, "--app-role", app, "--apply")
	if err != nil {
		t.Fatalf("db roles --apply: %v\n%s", err, logs)
	}
	if strings.Contains(out+logs, "migr'ate pw") || strings.Contains(out+logs, "app pw 1") {
		t.Fatal("db roles printed a password")
	}
	as := func(user, pw string) string {
		u, _ := url.Parse(adminURL)
		u.User = url.UserPassword(user, pw)
		return u.String()
	}
	return as(mig, "migr'ate pw"), as(app, "app pw 1")
}

// dropRoles drops the test's roles and what they own or were granted.
func dropRoles(t *testing.T, adminURL string, names ...string) {
	d, _ := sqldb.ParseDialect(adminURL)
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: adminURL})
	if err != nil {
		t.Errorf("drop roles: %v", err)
		return
	}
	defer db.Close()
	for _, r := range names {
		stmts := []string{`DROP OWNED BY "` + r + `"`, `DROP ROLE IF EXISTS "` + r + `"`}
		if d == sqldb.MySQL {
			stmts = []string{"DROP USER IF EXISTS " + roles.Literal(r) + "@'%'"}
		}
		for _, s := range stmts {
			if _, err := db.Writer().Exec(s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	}
}

// TestDBRoles_LeastPrivilege makes the roles in a fresh database, migrates
// as the migration role, serves the whole API and its jobs as the
// application role, and checks that the application role can change no
// schema.
func TestDBRoles_LeastPrivilege(t *testing.T) {
	for _, e := range engines[1:] {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			migURL, appURL := roleURLs(t, e.url(t))
			env := []string{"DATABASE_URL=" + appURL, "KURA_MIGRATE_DATABASE_URL=" + migURL, "KURA_JOB_POLL_INTERVAL=100ms"}

			// kura migrate up as the migration role; migrate down reverts
			// the job queue's set, which serve's own migration, as the
			// migration role too, applies again.
			for _, action := range []string{"up", "down"} {
				if _, logs, err := runKura(t, env, "", "migrate", action); err != nil {
					t.Fatalf("migrate %s: %v\n%s", action, err, logs)
				}
			}
			s := startKura(t, env...)
			out, _, err := runKura(t, env, "", "migrate", "status")
			if err != nil || strings.Contains(out, "pending") {
				t.Fatalf("status after serve: %v\n%s", err, out)
			}

			alice := register(t, s, "alice@example.com", "alice")
			bob := register(t, s, "bob@example.com", "bob")
			tok := login(t, s, "alice", "correct horse battery")
			path := fmt.Sprintf("/api/users/%d", alice.id())
			s.do(t, "GET", path, tok, nil).want(t, http.StatusOK)
			s.do(t, "GET", fmt.Sprintf("/api/users/%d", bob.id()), "", nil).want(t, http.StatusOK)
			s.do(t, "PATCH", path, tok, map[string]string{"username": "alicia"}).want(t, http.StatusOK)
			// The application role keeps and replays an idempotent answer.
			for i, want := range []string{"", "true"} {
				r := s.keyedAs(t, "PATCH", path, tok, "rename-1", `{"username":"alice2"}`)
				if r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != want {
					t.Fatalf("keyed PATCH %d: %d, replayed %q %s", i, r.Status, r.Header.Get("Idempotent-Replayed"), r.Raw)
				}
			}
			if l := s.do(t, "GET", "/api/users?limit=1", tok, nil).want(t, http.StatusOK); l.Body["next_cursor"] == nil {
				t.Errorf("list: %s", l.Raw)
			}
			s.do(t, "GET", "/api/users?page=1&per_page=5", tok, nil).want(t, http.StatusOK)
			if _, logs, err := runKura(t, env, "admin password 123\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
				t.Fatalf("users create --admin: %v\n%s", err, logs)
			}
			s.do(t, "GET", "/api/stats", tok, nil).want(t, http.StatusForbidden)
			s.do(t, "GET", "/api/stats", login(t, s, "root", "admin password 123"), nil).want(t, http.StatusOK)
			testenv.Wait(t, 30*time.Second, "the welcome notification, delivered by a job", func() bool {
				r := s.do(t, "GET", path+"/notifications", tok, nil).want(t, http.StatusOK)
				items, _ := r.Body["items"].([]any)
				return len(items) == 1
			})
			s.do(t, "POST", "/api/auth/logout", tok, nil).want(t, http.StatusNoContent)

			wantNoDDL(t, appURL)
			wantOwnedBy(t, e.name, migURL)
		})
	}
}

// wantNoDDL checks that the role of dbURL can neither drop, alter nor
// create a table: each fails with a permission error.
func wantNoDDL(t *testing.T, dbURL string) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{"DROP TABLE sessions", "ALTER TABLE users ADD COLUMN evil int", "CREATE TABLE evil (id int)", "TRUNCATE TABLE sessions"}
	if db.Dialect() == sqldb.Postgres {
		stmts = append(stmts, "CREATE TEMPORARY TABLE evil (id int)", "CREATE SCHEMA evil", "DROP TABLE river_job", "CREATE FUNCTION evil() RETURNS int LANGUAGE sql AS 'SELECT 1'")
	} else {
		stmts = append(stmts, "DROP TABLE kura_jobs", "CREATE TEMPORARY TABLE evil (id int)", "CREATE DATABASE evil")
	}
	for _, q := range stmts {
		_, err := db.Writer().Exec(q)
		if !isPermissionError(err) {
			t.Errorf("%s as the application role: %v, want a permission error", q, err)
		}
	}
}

// isPermissionError reports whether err is the server refusing a right.
func isPermissionError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "42501" // insufficient_privilege
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1044, 1142, 1227: // access denied to a database, a table, an operation
			return true
		}
	}
	return false
}

// wantOwnedBy checks, on PostgreSQL, that every table of the schema
// belongs to the migration role of migURL.
func wantOwnedBy(t *testing.T, engine, migURL string) {
	t.Helper()
	if engine != "postgres" {
		return
	}
	db, err := sql.Open("pgx", migURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var others, all int
	err = db.QueryRow(`SELECT count(*) FILTER (WHERE tableowner <> current_user), count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&others, &all)
	if err != nil || others != 0 || all < 5 {
		t.Errorf("tables not owned by the migration role: %d of %d (%v)", others, all, err)
	}
}

func TestDBRoles_Print(t *testing.T) {
	cases := []struct {
		url  string
		want []string
	}{
		{"postgres://postgres@127.0.0.1/kura", []string{`CREATE ROLE "kura_app" WITH LOGIN NOSUPERUSER`, `PASSWORD '<KURA_DB_APP_PASSWORD>'`,
			`REVOKE CREATE ON SCHEMA "public" FROM PUBLIC`, `ALTER DEFAULT PRIVILEGES FOR ROLE "kura_migrate" IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "kura_app"`}},
		{"mysql://root@127.0.0.1/kura_db", []string{`CREATE USER IF NOT EXISTS 'kura_app'@'%' IDENTIFIED BY '<KURA_DB_APP_PASSWORD>'`,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON `kura\\_db`.* TO 'kura_app'@'%'"}},
		{"sqlite:x.db", []string{"SQLite has no roles", "0600"}},
	}
	for _, c := range cases {
		env := []string{"DATABASE_URL=" + c.url, migratePasswordEnv + "=secret-one", appPasswordEnv + "=secret-two"}
		out, _, err := runKura(t, env, "", "db", "roles")
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the SQL lacks %q:\n%s", c.url, w, out)
			}
		}
		if strings.Contains(out, "secret-") {
			t.Errorf("%s: a password was printed", c.url)
		}
	}
	for _, args := range [][]string{{"--app-role", `x"; DROP`}, {"--migrate-role", "Kura"}, {"--app-role", "kura_migrate"}, {"--host", "a'b"}} {
		_, _, err := runKura(t, []string{"DATABASE_URL=postgres://postgres@127.0.0.1/kura"}, "", append([]string{"db", "roles"}, args...)...)
		if !isUsage(err) {
			t.Errorf("db roles %v: %v, want a usage error", args, err)
		}
	}
}

func TestConfig_MigrateDatabaseURL(t *testing.T) {
	const secret = "Sup3r-S3cret-migrate"
	env := []string{"DATABASE_URL=postgres://app@127.0.0.1:1/db?sslmode=disable", "KURA_MIGRATE_DATABASE_URL=postgres://m:" + secret + "@127.0.0.1:1/db?sslmode=disable"}
	for _, args := range [][]string{{"migrate", "status"}, {"users", "seed", "--count", "1"}} {
		_, logs, err := runKura(t, env, "", args...)
		if err == nil || strings.Contains(err.Error()+logs, secret) {
			t.Errorf("%v: want a connection error without the password, got %v", args, err)
		}
	}
	_, err := LoadConfig([]string{"DATABASE_URL=postgres://a@h/db", "KURA_MIGRATE_DATABASE_URL=mysql://m@h/db"}, "")
	if err == nil || !strings.Contains(err.Error(), "KURA_MIGRATE_DATABASE_URL") {
		t.Errorf("engines that differ: %v, want an error naming KURA_MIGRATE_DATABASE_URL", err)
	}
}
