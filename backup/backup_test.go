package backup_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// engine is one database engine the suite runs on: a fresh empty database
// per call of url.
type engine struct {
	name string
	d    sqldb.Dialect
}

func (e engine) url(t *testing.T) string { return dbtest.URL(t, e.d) }

// engines are dbtest's, in its order: SQLite, PostgreSQL, MySQL.
var engines = func() []engine {
	var out []engine
	for _, d := range dbtest.Engines {
		out = append(out, engine{string(d), d})
	}
	return out
}()

func eachEngine(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, e) })
	}
}

// mustOpen opens url with kura's schema and seeds n users.
func mustOpen(t *testing.T, url string, n int) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx, dbtest.Schemas...); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		if err := accounts.NewUserService(db).SeedUsers(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// awkwardBytes are 32 bytes a dump must escape: NUL, quotes, a
// backslash, bytes that are not UTF-8.
var awkwardBytes = []byte("\x00'\"\\\xff\xfe\n\r\x1a%_;-- 0123456789abcdefg")

// keepAnswer keeps an answer under an idempotency key in db, its
// fingerprint and body awkward for a dump, and returns it.
func keepAnswer(t *testing.T, db *sqldb.DB) *kura.StoredResponse {
	t.Helper()
	ctx := context.Background()
	s := store.NewIdempotencyStore(db)
	c, err := s.ClaimIdempotencyKey(ctx, "user:1", "k", awkwardBytes, time.Minute)
	if err != nil || !c.Owned {
		t.Fatalf("claim: %+v, %v", c, err)
	}
	resp := &kura.StoredResponse{Status: 201, Header: map[string]string{"Location": "/x/'1"}, Body: append([]byte(`{"a":"\u0000"}`), awkwardBytes...)}
	if err := s.CompleteIdempotencyKey(ctx, c, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func config(t *testing.T, url string) backup.Config {
	return backup.Config{URL: url, Dir: filepath.Join(t.TempDir(), "backups")}
}

func countUsers(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateVerifyRestore(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		url := e.url(t)
		db := mustOpen(t, url, 50)
		kept := keepAnswer(t, db)
		cfg := config(t, url)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if m.Engine != e.name || m.Size == 0 || len(m.SHA256) != 64 || m.SchemaVersion() == 0 || m.ServerVersion == "" {
			t.Fatalf("manifest: %+v", m)
		}
		users := tableOf(t, m, "users")
		if users.Rows != 50 {
			t.Fatalf("users rows = %d, want 50", users.Rows)
		}
		for _, p := range []string{m.Path(), filepath.Join(cfg.Dir, m.Name+".json")} {
			fi, err := os.Stat(p)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v, mode %v; want 0600", p, err, fi.Mode().Perm())
			}
		}
		if fi, _ := os.Stat(cfg.Dir); fi.Mode().Perm() != 0o700 {
			t.Fatalf("folder mode %v, want 0700", fi.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(cfg.Dir, m.Name+".json"))
		if e.d != sqldb.SQLite && strings.Contains(string(b), url) { // a SQLite URL is the file's path: its name
			t.Fatal("the manifest holds the database URL")
		}
		id, err := db.Identity(ctx)
		if err != nil || m.Source.ID != id || m.Source.Engine != e.name || m.Source.Address == "" || m.Source.Database == "" {
			t.Fatalf("the manifest's source %+v; want the identity %s (%v), the engine, address and database", m.Source, id, err)
		}

		c, err := backup.Verify(ctx, m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !c.OK {
			t.Fatalf("verify: %s", c.Problem)
		}
		listed, err := backup.List(cfg.Dir)
		if err != nil || len(listed) != 1 || listed[0].Verified == nil || !listed[0].Verified.OK {
			t.Fatalf("list after verify: %v %+v", err, listed)
		}

		// Restore into a new database: the same content.
		to := e.url(t)
		rcfg := cfg
		if err := backup.Restore(ctx, m, rcfg, backup.RestoreOptions{To: to}); err != nil {
			t.Fatal(err)
		}
		restored := mustOpen(t, to, 0) // already migrated: MigrateUp does nothing
		if n := countUsers(t, restored.Reader()); n != 50 {
			t.Fatalf("restored %d users, want 50", n)
		}
		if c, err := store.NewIdempotencyStore(restored).ClaimIdempotencyKey(ctx, "user:1", "k", awkwardBytes, time.Minute); err != nil ||
			c.Response == nil || !bytes.Equal(c.Response.Body, kept.Body) || c.Response.Header["Location"] != kept.Header["Location"] {
			t.Fatalf("the restored copy's idempotency key: %+v, %v; want the kept answer", c, err)
		}
		if got, _ := restored.Identity(ctx); got != m.Source.ID {
			t.Fatalf("the restored copy's identity is %s; want its source's, %s", got, m.Source.ID)
		}
		// A second restore over a database that holds data needs --force.
		err = backup.Restore(ctx, m, rcfg, backup.RestoreOptions{To: to})
		if err == nil || !strings.Contains(err.Error(), "force") {
			t.Fatalf("restore over a database with data: %v; want a refusal naming force", err)
		}
	})
}

func tableOf(t *testing.T, m *backup.Manifest, name string) backup.Table {
	t.Helper()
	for _, tb := range m.Tables {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("manifest has no table %s: %+v", name, m.Tables)
	return backup.Table{}
}

func execLookPath(name string) (string, error) { return exec.LookPath(name) }

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
