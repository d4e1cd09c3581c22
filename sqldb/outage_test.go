package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// outageOps are service calls of every kind: a read, a list, a write, a
// transaction of the toolkit, a login and the stats.
func outageOps(db *sqldb.DB, u *kura.User) []struct {
	name string
	call func(ctx context.Context) error
} {
	users, sessions := accounts.NewUserService(db), accounts.NewSessionService(db, 0)
	n := 0
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Read", func(ctx context.Context) error { _, err := users.FindUserByID(ctx, u.ID); return err }},
		{"List", func(ctx context.Context) error { _, err := users.ListUsers(ctx, kura.ListOptions{Page: 1}); return err }},
		{"Write", func(ctx context.Context) error {
			n++
			name := "ada" + strconv.Itoa(n)
			_, err := users.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: &name})
			return err
		}},
		{"Tx", func(ctx context.Context) error {
			return db.InTx(ctx, func(tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, db.Rebind("UPDATE users SET role = ? WHERE id = ?"), "user", u.ID)
				return err
			})
		}},
		{"Login", func(ctx context.Context) error { _, err := sessions.Login(ctx, u.Email, "password-1"); return err }},
		{"Stats", func(ctx context.Context) error { _, err := store.NewStatsService(db).Stats(ctx); return err }},
	}
}

// rawDB opens a pool of the test's own on the database of rawURL, outside
// kura, closed at the end of the test.
func rawDB(tb testing.TB, d sqldb.Dialect, rawURL string) *sql.DB {
	tb.Helper()
	driver, dsn := "pgx", rawURL
	switch d {
	case sqldb.MySQL:
		u, err := url.Parse(rawURL)
		if err != nil {
			tb.Fatal(err)
		}
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		driver, dsn = "mysql", cfg.FormatDSN()
	case sqldb.SQLite:
		driver = "sqlite"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// lockUsers locks the users table with a connection of raw, so that every
// read and write of it by another connection waits, and returns that
// connection and the function that releases the lock.
func lockUsers(tb testing.TB, d sqldb.Dialect, raw *sql.DB) (*sql.Conn, func()) {
	tb.Helper()
	ctx := context.Background()
	c, err := raw.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	lock, unlock := "LOCK TABLE users IN ACCESS EXCLUSIVE MODE", "ROLLBACK"
	if d == sqldb.MySQL {
		lock, unlock = "LOCK TABLES users WRITE", "UNLOCK TABLES"
	} else if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, lock); err != nil {
		tb.Fatal(err)
	}
	return c, func() {
		c.ExecContext(ctx, unlock)
		c.Close()
	}
}

// killWaiter waits until a connection of the test database other than c
// waits on a lock, then ends it as an administrator would:
// pg_terminate_backend on PostgreSQL, KILL on MySQL.
func killWaiter(tb testing.TB, d sqldb.Dialect, c *sql.Conn) {
	tb.Helper()
	ctx := context.Background()
	find := `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
		AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`
	if d == sqldb.MySQL {
		find = `SELECT id FROM information_schema.processlist WHERE db = DATABASE()
			AND id <> CONNECTION_ID() AND state LIKE 'Waiting for table%'`
	}
	var id int64
	testenv.Wait(tb, 0, "a query waiting on the lock", func() bool {
		return c.QueryRowContext(ctx, find).Scan(&id) == nil
	})
	kill := "SELECT pg_terminate_backend(" + strconv.FormatInt(id, 10) + ")"
	if d == sqldb.MySQL {
		kill = "KILL " + strconv.FormatInt(id, 10)
	}
	if _, err := c.ExecContext(ctx, kill); err != nil {
		tb.Fatalf("%s: %v", kill, err)
	}
}

// TestUnavailable_Terminated ends the backend of a query that waits on a
// lock, on every kind of call: each is EUNAVAILABLE, and the next call
// succeeds.
func TestUnavailable_Terminated(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.Postgres, sqldb.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			rawURL := MustTestURL(t, d)
			db := MustOpenConfig(t, sqldb.Config{URL: rawURL}, true)
			u := MustCreateUser(t, db, "ada@example.com", "ada")
			raw := rawDB(t, d, rawURL)
			ctx := context.Background()
			for _, op := range outageOps(db, u) {
				t.Run(op.name, func(t *testing.T) {
					c, unlock := lockUsers(t, d, raw)
					errc := make(chan error, 1)
					go func() { errc <- op.call(ctx) }()
					killWaiter(t, d, c)
					unlock()
					err := <-errc
					wantCode(t, err, kura.EUNAVAILABLE)
					if msg := kura.ErrorMessage(err); msg != "The database is unavailable; try again shortly." {
						t.Errorf("message = %q", msg)
					}
					if err := op.call(ctx); err != nil {
						t.Fatalf("the call after: %v", err)
					}
				})
			}
		})
	}
}

// viaProxy returns rawURL with its host:port replaced by p's.
func viaProxy(tb testing.TB, rawURL string, p *testenv.Proxy) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}

// serverAddr returns the host:port of a server URL, with the engine's port
// when it names none.
func serverAddr(tb testing.TB, d sqldb.Dialect, rawURL string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	if u.Port() != "" {
		return u.Host
	}
	if d == sqldb.MySQL {
		return u.Host + ":3306"
	}
	return u.Host + ":5432"
}

// TestUnavailable_ServerGone cuts the connections to the server in the
// middle of a query, then refuses new ones: both are EUNAVAILABLE, with
// the password kept out, and the first call once the server is back
// succeeds.
func TestUnavailable_ServerGone(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.Postgres, sqldb.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			rawURL := MustTestURL(t, d)
			p := testenv.StartProxy(t, serverAddr(t, d, rawURL))
			db := MustOpenConfig(t, sqldb.Config{URL: viaProxy(t, rawURL, p)}, true)
			raw := rawDB(t, d, rawURL)
			ctx := context.Background()

			sleep, running := "SELECT pg_sleep(60)", `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND query = 'SELECT pg_sleep(60)' AND state = 'active'`
			if d == sqldb.MySQL {
				sleep, running = "SELECT SLEEP(60)", `SELECT COUNT(*) FROM information_schema.processlist
					WHERE db = DATABASE() AND info = 'SELECT SLEEP(60)'`
			}
			errc := make(chan error, 1)
			go func() {
				errc <- db.Read(ctx, func(q sqldb.Querier) error {
					_, err := q.ExecContext(ctx, sleep)
					return err
				})
			}()
			testenv.Wait(t, 0, "the query to run", func() bool {
				var n int
				return raw.QueryRowContext(ctx, running).Scan(&n) == nil && n == 1
			})
			p.Refuse()
			err := <-errc
			wantCode(t, err, kura.EUNAVAILABLE)
			users := accounts.NewUserService(db)
			_, err = users.ListUsers(ctx, kura.ListOptions{})
			wantCode(t, err, kura.EUNAVAILABLE)

			p.Resume()
			if _, err := users.ListUsers(ctx, kura.ListOptions{}); err != nil {
				t.Fatalf("the call after the server is back: %v", err)
			}
		})
	}
}

// TestUnavailable_SQLiteBusy holds the write lock of a SQLite file from
// another connection past the writer's busy_timeout: the write is
// EUNAVAILABLE, and the next one after the lock is released succeeds. The
// busy timeout (5 s) is shortened on the writer's one connection, which
// lives as long as the DB.
func TestUnavailable_SQLiteBusy(t *testing.T) {
	t.Parallel()
	path := MustTestURL(t, sqldb.SQLite)
	db := MustOpenConfig(t, sqldb.Config{URL: path}, true)
	u := MustCreateUser(t, db, "ada@example.com", "ada")
	ctx := context.Background()
	if _, err := db.Writer().ExecContext(ctx, "PRAGMA busy_timeout = 50"); err != nil {
		t.Fatal(err)
	}
	other, err := rawDB(t, sqldb.SQLite, path).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	name := "grace"
	users := accounts.NewUserService(db)
	_, err = users.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: &name})
	wantCode(t, err, kura.EUNAVAILABLE)
	if _, err := other.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := users.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: &name}); err != nil {
		t.Fatalf("the write after: %v", err)
	}
}

// TestUnavailable_Classify checks which errors are outages and that the
// others pass through unchanged.
func TestUnavailable_Classify(t *testing.T) {
	db := MustOpenDB(t, sqldb.SQLite)
	for _, err := range []error{nil, sql.ErrNoRows, errors.New("syntax error"), context.Canceled,
		kura.Errorf(kura.ENOTFOUND, "User not found.")} {
		if got := db.Unavailable(err); got != err {
			t.Errorf("Unavailable(%v) = %v, want it unchanged", err, got)
		}
	}
	for _, err := range []error{mysql.ErrInvalidConn, &mysql.MySQLError{Number: 2006}, &mysql.MySQLError{Number: 1053}} {
		wantCode(t, db.Unavailable(err), kura.EUNAVAILABLE)
	}
	if got := db.Unavailable(&mysql.MySQLError{Number: 1062}); kura.ErrorCode(got) == kura.EUNAVAILABLE {
		t.Errorf("a duplicate key is not an outage: %v", got)
	}
}

// TestPing_Busy holds every connection of a pool: Ping reports the pool
// busy (kura.ErrBusy) at once, long before PoolTimeout, and connected
// again once it is free; a server out of reach is not busy, nor is one
// that stops answering while its connections are all taken (the start of
// an outage, when calls pile up waiting on it).
func TestPing_Busy(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres, sqldb.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			db := MustOpenConfig(t, sqldb.Config{URL: MustTestURL(t, d), PoolSize: 1, MaxOverflow: -1, PoolTimeout: time.Minute}, false)
			ctx := context.Background()
			held, err := db.HoldConn(ctx, db.Writer())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = db.Ping(ctx)
			if !errors.Is(err, kura.ErrBusy) || kura.ErrorCode(err) != kura.EUNAVAILABLE {
				t.Fatalf("Ping with the pool held = %v, want EUNAVAILABLE wrapping kura.ErrBusy", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Ping took %s", took)
			}
			held.Close()
			if err := db.Ping(ctx); err != nil {
				t.Fatalf("Ping with the pool free: %v", err)
			}
		})
	}
	t.Run("Unreachable", func(t *testing.T) {
		t.Parallel()
		rawURL := MustTestURL(t, sqldb.Postgres)
		p := testenv.StartProxy(t, serverAddr(t, sqldb.Postgres, rawURL))
		db := MustOpenConfig(t, sqldb.Config{URL: viaProxy(t, rawURL, p), PoolSize: 1, MaxOverflow: -1}, false)
		p.Refuse()
		err := db.Ping(context.Background())
		if err == nil || errors.Is(err, kura.ErrBusy) {
			t.Fatalf("Ping of a server out of reach = %v, want an error that is not busy", err)
		}
	})
	t.Run("StallsWhileFull", func(t *testing.T) {
		t.Parallel()
		rawURL := MustTestURL(t, sqldb.Postgres)
		p := testenv.StartProxy(t, serverAddr(t, sqldb.Postgres, rawURL))
		db := MustOpenConfig(t, sqldb.Config{URL: viaProxy(t, rawURL, p), PoolSize: 1, MaxOverflow: -1, PoolTimeout: time.Minute}, false)
		held, err := db.HoldConn(context.Background(), db.Writer())
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		p.Stall()
		defer p.Flow()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // as /health's checks
		defer cancel()
		err = db.Ping(ctx)
		if err == nil || errors.Is(err, kura.ErrBusy) {
			t.Fatalf("Ping of a full pool whose server stopped answering = %v, want an error that is not busy", err)
		}
		if strings.Contains(err.Error(), "postgres://") {
			t.Errorf("the error shows the URL: %v", err)
		}
	})
}
