package sqldb_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// engines are the dialects every store test runs against.
var engines = dbtest.Engines

// forEachEngine runs fn once per engine, in parallel subtests named after
// the dialect, each with a fresh migrated database. Engines whose server is
// not running are skipped (failed under CI=true) by testenv.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, MustOpenDB(t, d))
		})
	}
}

// MustTestURL returns the URL of a fresh, empty database of the dialect that
// lives as long as the test.
func MustTestURL(tb testing.TB, d sqldb.Dialect) string {
	tb.Helper()
	return dbtest.URL(tb, d)
}

// MustOpenDB opens a fresh migrated database of the dialect, closed when
// the test ends.
func MustOpenDB(tb testing.TB, d sqldb.Dialect) *sqldb.DB {
	tb.Helper()
	return MustOpenConfig(tb, sqldb.Config{URL: MustTestURL(tb, d)}, true)
}

// MustOpenConfig opens cfg (logging to the test), optionally migrated up.
func MustOpenConfig(tb testing.TB, cfg sqldb.Config, migrate bool) *sqldb.DB {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = dbtest.Logger(tb, slog.LevelWarn)
	}
	ctx := context.Background()
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if migrate {
		if err := db.MigrateUp(ctx, store.Schema); err != nil {
			tb.Fatalf("migrate: %v", err)
		}
	}
	return db
}

// MustCreateUser creates a user with the password "password-1".
func MustCreateUser(tb testing.TB, db *sqldb.DB, email, username string) *kura.User {
	tb.Helper()
	u, err := accounts.NewUserService(db).CreateUser(context.Background(),
		kura.NewUser{Email: email, Username: username, Password: "password-1"})
	if err != nil {
		tb.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// wantCode fails the test unless err carries the kura error code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := kura.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v); want %q", got, err, code)
	}
}

// clock is a settable time source for db.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(db *sqldb.DB) *clock {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	db.Now = c.Now
	return c
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// syncBuffer captures logs written from several goroutines.
type syncBuffer = testenv.LogBuffer
