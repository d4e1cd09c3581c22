package httpapi_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// newDBEnv returns an env whose services are sqldb's on a fresh database
// at rawURL (migrated), with /health checking it.
func newDBEnv(t *testing.T, cfg sqldb.Config) (*env, *sqldb.DB) {
	t.Helper()
	ctx := context.Background()
	cfg.Logger = dbtest.Logger(t, slog.LevelError)
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx, dbtest.Schemas...); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, logs: &syncBuffer{}}
	e.srv = httpapi.NewServer(httpapi.Config{
		Addr:     "127.0.0.1:0",
		Users:    accounts.NewUserService(db),
		Sessions: accounts.NewSessionService(db, 0),
		Checks:   []httpapi.HealthCheck{httpapi.PingCheck("database", db)},
		Logger:   slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return e, db
}

// mustServiceUnavailable fails unless w is a 503 with Retry-After.
func mustServiceUnavailable(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

// TestOutage_Terminated ends the backend of a request waiting on a lock
// held by the test: the request is a 503 with Retry-After and a warning
// (not an error) in the log, and the next request succeeds.
func TestOutage_Terminated(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.Postgres, sqldb.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			rawURL := dbtest.URL(t, d)
			e, _ := newDBEnv(t, sqldb.Config{URL: rawURL})
			_, token := e.mustUser("ada", false)
			ctx := context.Background()
			c := lockUsers(t, d, rawURL)
			done := make(chan *httptest.ResponseRecorder, 1)
			go func() { done <- e.do("GET", "/api/users", nil, token) }()
			find := `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
				AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`
			kill := "SELECT pg_terminate_backend(%d)"
			if d == sqldb.MySQL {
				find = `SELECT id FROM information_schema.processlist WHERE db = DATABASE()
					AND id <> CONNECTION_ID() AND state LIKE 'Waiting for table%'`
				kill = "KILL %d"
			}
			var id int64
			testenv.Wait(t, 0, "the request to wait on the lock", func() bool {
				return c.QueryRowContext(ctx, find).Scan(&id) == nil
			})
			if _, err := c.ExecContext(ctx, fmt.Sprintf(kill, id)); err != nil {
				t.Fatal(err)
			}
			mustServiceUnavailable(t, <-done)
			logs := e.logs.String()
			if strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, `"level":"WARN","msg":"dependency unavailable"`) {
				t.Errorf("want one warning and no error in the log:\n%s", logs)
			}
			unlock(t, d, c)
			mustStatus(t, e.do("GET", "/api/users", nil, token), http.StatusOK)
		})
	}
}

// lockUsers locks the users table of the database at rawURL with a
// connection of the test's own, which it returns; unlock releases it.
func lockUsers(t *testing.T, d sqldb.Dialect, rawURL string) *sql.Conn {
	t.Helper()
	driver, dsn := "pgx", rawURL
	if d == sqldb.MySQL {
		u, _ := url.Parse(rawURL)
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		driver, dsn = "mysql", cfg.FormatDSN()
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	ctx := context.Background()
	c, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	stmts := []string{"BEGIN", "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"}
	if d == sqldb.MySQL {
		stmts = []string{"LOCK TABLES users WRITE"}
	}
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func unlock(t *testing.T, d sqldb.Dialect, c *sql.Conn) {
	t.Helper()
	q := "ROLLBACK"
	if d == sqldb.MySQL {
		q = "UNLOCK TABLES"
	}
	if _, err := c.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// TestOutage_ServerGone refuses every connection to the server through a
// proxy: requests and /health are 503 with Retry-After, /health says
// "unreachable", and both succeed again once the server is back.
func TestOutage_ServerGone(t *testing.T) {
	t.Parallel()
	rawURL := dbtest.URL(t, sqldb.Postgres)
	u, _ := url.Parse(rawURL)
	if u.Port() == "" {
		u.Host += ":5432"
	}
	p := testenv.StartProxy(t, u.Host)
	u.Host = p.Addr()
	e, _ := newDBEnv(t, sqldb.Config{URL: u.String()})
	_, token := e.mustUser("ada", false)

	p.Refuse()
	w := e.do("GET", "/api/users", nil, token)
	mustServiceUnavailable(t, w)
	w = e.do("GET", "/health", nil, "")
	mustServiceUnavailable(t, w)
	if got := strings.TrimSpace(w.Body.String()); got != `{"database":"unreachable","status":"unhealthy"}` {
		t.Errorf("body = %s", got)
	}

	p.Resume()
	mustStatus(t, e.do("GET", "/api/users", nil, token), http.StatusOK)
	mustStatus(t, e.do("GET", "/health", nil, ""), http.StatusOK)
}

// TestHealth_Busy holds the one connection of a pool in a transaction:
// /health answers 503 with Retry-After and "busy" within far less than
// the pool timeout, and "connected" once the transaction ends.
func TestHealth_Busy(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			e, db := newDBEnv(t, sqldb.Config{URL: dbtest.URL(t, d), PoolSize: 1, MaxOverflow: -1, PoolTimeout: time.Minute})
			inTx, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				done <- db.InTx(context.Background(), func(*sqldb.Tx) error {
					close(inTx)
					<-release
					return nil
				})
			}()
			<-inTx
			start := time.Now()
			w := e.do("GET", "/health", nil, "")
			if took := time.Since(start); took > time.Second {
				t.Errorf("/health took %s", took)
			}
			mustServiceUnavailable(t, w)
			if got := strings.TrimSpace(w.Body.String()); got != `{"database":"busy","status":"unhealthy"}` {
				t.Errorf("body = %s", got)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			mustStatus(t, e.do("GET", "/health", nil, ""), http.StatusOK)
		})
	}
}

// TestInvalidInput_RealDB sends what a driver would refuse: a NUL in a
// login, an email or a password, and a page past MaxPage. Each is a 422
// naming the field, on PostgreSQL, which refuses NUL in text.
func TestInvalidInput_RealDB(t *testing.T) {
	t.Parallel()
	e, _ := newDBEnv(t, sqldb.Config{URL: dbtest.URL(t, sqldb.Postgres)})
	_, token := e.mustUser("ada", false)
	for _, tt := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"Login", "POST", "/api/auth/login", map[string]string{"login": "ada\x00", "password": "correct horse"}, "login"},
		{"Email", "POST", "/api/users", map[string]string{"email": "a\x00@example.com", "username": "bob", "password": "correct horse"}, "email"},
		{"Password", "POST", "/api/users", map[string]string{"email": "bob@example.com", "username": "bob", "password": "correct\x00horse"}, "password"},
		{"Page", "GET", "/api/users?page=9223372036854775807", nil, "page"},
		{"PageOverflow", "GET", "/api/users?page=99999999999999999999", nil, "page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(tt.method, tt.path, tt.body, token)
			mustStatus(t, w, http.StatusUnprocessableEntity)
			if !strings.Contains(w.Body.String(), `"`+tt.field+`":`) {
				t.Errorf("body does not name %s: %s", tt.field, w.Body)
			}
		})
	}
}
