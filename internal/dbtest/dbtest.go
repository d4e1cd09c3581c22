// Package dbtest opens fresh, migrated databases of every engine for the
// tests of packages built on sqldb.
package dbtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// Schemas are the sets of migrations Open applies: kura's and the job
// queue's.
var Schemas = []*sqldb.Migrations{store.Schema, jobs.Schema}

// Engines are the engines every store suite runs on.
var Engines = []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres, sqldb.MySQL}

// ForEachEngine runs fn as a parallel subtest per engine, each with a
// fresh migrated database.
func ForEachEngine(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, d := range Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, d))
		})
	}
}

// URL returns the URL of a fresh, empty database of the dialect that lives
// as long as the test: a file in a temporary folder for SQLite, a new
// database on the local server otherwise (see testenv).
func URL(tb testing.TB, d sqldb.Dialect) string {
	tb.Helper()
	switch d {
	case sqldb.Postgres:
		return testenv.PostgresDatabase(tb)
	case sqldb.MySQL:
		return testenv.MySQLDatabase(tb)
	}
	return filepath.Join(tb.TempDir(), "kura.db")
}

// Open opens a fresh database of the dialect, migrated up and closed when
// the test ends. Its errors are logged to the test.
func Open(tb testing.TB, d sqldb.Dialect) *sqldb.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: URL(tb, d), Logger: Logger(tb, slog.LevelError)})
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx, Schemas...); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// Logger returns a logger that writes lines of at least level to the test.
func Logger(tb testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
