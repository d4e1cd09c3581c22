package store_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// forEachEngine runs fn once per engine, in parallel subtests named after
// the dialect, each with a fresh migrated database. Engines whose server is
// not running are skipped (failed under CI=true) by testenv.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, MustOpenDB(t, d))
		})
	}
}

// MustOpenDB opens a fresh database of the dialect migrated by kura's
// own set (store.Schema), closed when the test ends.
func MustOpenDB(tb testing.TB, d sqldb.Dialect) *sqldb.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: dbtest.URL(tb, d), Logger: dbtest.Logger(tb, slog.LevelWarn)})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx, store.Schema); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

// seedHash is a password hash for users stored by the tests: the store
// keeps whatever hash it is given and never verifies one.
const seedHash = "$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNhbHRzZWVkc2FsdA$c2VlZGhhc2hzZWVkaGFzaHNlZWRoYXNoc2VlZGhhcw"

// MustCreateUser stores a user (its password hash a placeholder).
func MustCreateUser(tb testing.TB, db *sqldb.DB, email, username string) *kura.User {
	tb.Helper()
	u, err := store.NewUsers(db).CreateUser(context.Background(),
		store.NewUser{Email: email, Username: username, PasswordHash: seedHash})
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
