package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// TestEndToEnd_KeysetUnderInserts reads the list page by page while new
// users arrive between reads: no row is skipped or repeated.
func TestEndToEnd_KeysetUnderInserts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL}
		if _, logs, err := runKura(t, env, "", "users", "seed", "--count", "45"); err != nil {
			t.Fatalf("seed: %v\n%s", err, logs)
		}
		s := startKura(t, env...)
		register(t, s, "reader@example.com", "reader")
		tok := login(t, s, "reader", "correct horse battery")

		seen := map[int64]bool{}
		last := int64(1 << 62)
		cursor := ""
		for page := 0; ; page++ {
			q := "/api/users?limit=7"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			r := s.do(t, "GET", q, tok, nil).want(t, http.StatusOK)
			for _, it := range r.Body["items"].([]any) {
				id := int64(it.(map[string]any)["id"].(float64))
				if seen[id] {
					t.Fatalf("id %d repeated on page %d", id, page)
				}
				if id >= last {
					t.Fatalf("not newest first: %d after %d", id, last)
				}
				seen[id], last = true, id
			}
			// New rows land between page reads.
			register(t, s, fmt.Sprintf("new%d@example.com", page), fmt.Sprintf("new%d", page))
			next, _ := r.Body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 46 { // 45 seeded + the reader, who existed before the first read
			t.Fatalf("saw %d users, want 46 (none skipped)", len(seen))
		}
	})
}

// TestEndToEnd_PoolExhaustion holds kura's only PostgreSQL connection busy
// and checks that the next request gets 503 with Retry-After, not a hang.
func TestEndToEnd_PoolExhaustion(t *testing.T) {
	dbURL := testenv.PostgresDatabase(t)
	// The cache is off: a cached read would not need the database at all;
	// so are the job workers, whose deliveries would share the connection.
	s := startKura(t, "DATABASE_URL="+dbURL, "DB_POOL_SIZE=1", "DB_MAX_OVERFLOW=0", "DB_POOL_TIMEOUT=0.3", "CACHE_TTL=0", "KURA_WORKERS=0")
	alice := register(t, s, "alice@example.com", "alice")
	path := fmt.Sprintf("/api/users/%d", alice.id())

	// Lock the users table from outside, so a read through kura blocks while
	// holding its one connection.
	ext, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	ctx := context.Background()
	tx, err := ext.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var blocked response
	wg.Add(1)
	go func() {
		defer wg.Done()
		blocked = s.do(t, "GET", path, "", nil)
	}()
	testenv.Wait(t, 10*time.Second, "kura's query to wait on the lock", func() bool {
		var n int
		ext.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n)
		return n > 0
	})

	r := s.do(t, "GET", path, "", nil).want(t, http.StatusServiceUnavailable)
	if r.errorField("code") != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("503 must carry code unavailable and Retry-After: %v %s", r.Header, r.Raw)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	blocked.want(t, http.StatusOK)
	s.do(t, "GET", path, "", nil).want(t, http.StatusOK)
}

// TestEndToEnd_HealthWhenDatabaseGone drops the database under a running
// server: /health turns 503, names the database, and leaks nothing.
func TestEndToEnd_HealthWhenDatabaseGone(t *testing.T) {
	dbURL := testenv.PostgresDatabase(t)
	u, _ := url.Parse(dbURL)
	s := startKura(t, "DATABASE_URL="+dbURL)
	s.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)

	admin, err := sql.Open("pgx", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("DROP DATABASE " + strings.TrimPrefix(u.Path, "/") + " WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	h := s.do(t, "GET", "/health", "", nil).want(t, http.StatusServiceUnavailable)
	if h.Body["status"] != "unhealthy" || h.Body["database"] == "connected" || h.Body["database"] == nil {
		t.Errorf("health = %s", h.Raw)
	}
	if strings.Contains(h.Raw, "postgres") || strings.Contains(h.Raw, u.Host) {
		t.Errorf("health leaks connection details: %s", h.Raw)
	}
	s.do(t, "GET", "/health/live", "", nil).want(t, http.StatusOK)
}

// TestSecretsNeverPrinted fails connections in several ways and checks that
// the password reaches neither the error nor the logs.
func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "Sup3r-S3cret-pw"
	pg := testenv.PostgresURL(t)
	pgu, _ := url.Parse(pg)
	my, _ := url.Parse(testenv.MySQLURL(t))
	cases := map[string][]string{
		"postgres wrong database":  {"DATABASE_URL=postgres://postgres:" + secret + "@" + pgu.Host + "/kura_no_such_db?sslmode=disable"},
		"postgres closed port":     {"DATABASE_URL=postgres://postgres:" + secret + "@127.0.0.1:1/db?sslmode=disable"},
		"DB_PASSWORD closed port":  {"DB_HOST=127.0.0.1", "DB_PORT=1", "DB_PASSWORD=" + secret},
		"mysql wrong password":     {"DATABASE_URL=mysql://root:" + secret + "@" + my.Host + "/test"},
		"remote without TLS":       {"DATABASE_URL=postgres://app:" + secret + "@db.example.com/app"},
		"mysql remote without TLS": {"DATABASE_URL=mysql://app:" + secret + "@db.example.com/app"},
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, logs, err := runKura(t, append(env, "KURA_LOG_LEVEL=debug"), "", "migrate", "status")
			if err == nil {
				t.Fatal("want a connection error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(logs, secret) {
				t.Fatal("the password was printed")
			}
			if strings.Contains(name, "without TLS") && !strings.Contains(err.Error(), "KURA_DB_ALLOW_INSECURE") {
				t.Errorf("the refusal should say how to fix it: %v", err)
			}
		})
	}
	t.Run("dotenv", func(t *testing.T) {
		envFile := writeEnvFile(t, "DB_HOST=127.0.0.1\nDB_PORT=1\nDB_PASSWORD="+secret+"\n")
		var out, logs syncBuffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &logs, Environ: []string{}}
		err := m.Run(context.Background(), []string{"migrate", "--env-file", envFile, "status"})
		if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
			t.Fatalf("want an error without the password, got %v", err != nil)
		}
	})
}

func TestCLI(t *testing.T) {
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "cli.db")}

	out, _, err := runKura(t, env, "", "version")
	if err != nil || !strings.HasPrefix(out, "kura ") {
		t.Fatalf("version: %q %v", out, err)
	}
	for _, cmd := range [][]string{{"serve", "-h"}, {"migrate", "-h"}, {"users", "create", "-h"}, {"users", "seed", "-h"}, {"version", "-h"}} {
		out, _, err := runKura(t, env, "", cmd...)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out, "Usage: kura") {
			t.Errorf("%v: err=%v out=%q", cmd, err, out)
		}
	}
	if _, _, err := runKura(t, env, "", "frobnicate", "x"); !isUsage(err) {
		t.Errorf("unknown command: %v", err)
	}
	if _, _, err := runKura(t, env, "", "migrate", "sideways"); !isUsage(err) {
		t.Errorf("unknown migrate action: %v", err)
	}

	// Migrations: up, status, down, status, up.
	if _, logs, err := runKura(t, env, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, logs)
	}
	out, _, err = runKura(t, env, "", "migrate", "status")
	if err != nil || strings.Contains(out, "pending") || !strings.Contains(out, "users") {
		t.Fatalf("status after up: %v\n%s", err, out)
	}
	if _, _, err := runKura(t, env, "", "migrate", "down"); err != nil {
		t.Fatalf("migrate down: %v", err)
	}
	out, _, _ = runKura(t, env, "", "migrate", "status")
	if !strings.Contains(out, "pending") {
		t.Fatalf("status after down shows nothing pending:\n%s", out)
	}
	if _, _, err := runKura(t, env, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up again: %v", err)
	}

	// users create: password from stdin or the environment, never a flag.
	if _, _, err := runKura(t, env, "", "users", "create", "--email", "a@example.com", "--username", "ann"); err == nil {
		t.Error("users create without a password must fail")
	}
	if out, _, err := runKura(t, env, "long enough password\n", "users", "create", "--email", "a@example.com", "--username", "ann"); err != nil || !strings.Contains(out, "created user") {
		t.Errorf("users create from stdin: %v %q", err, out)
	}
	if out, _, err := runKura(t, append(env, passwordEnv+"=another long password"), "", "users", "create", "--email", "b@example.com", "--username", "ben", "--admin"); err != nil || !strings.Contains(out, "admin") {
		t.Errorf("users create from env: %v %q", err, out)
	}
	_, _, err = runKura(t, env, "long enough password\n", "users", "create", "--email", "A@example.com", "--username", "x y")
	if err == nil || !strings.Contains(err.Error(), "username") {
		t.Errorf("users create with bad input should name the field: %v", err)
	}
	if _, _, err := runKura(t, env, "", "users", "create", "--email", "c@example.com", "--username", "cy", "--password", "x"); !isUsage(err) {
		t.Errorf("a --password flag must not exist: %v", err)
	}
}
