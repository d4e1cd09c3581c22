package datamove_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// sampleSet is an application's own set of migrations with a column of
// every type a move must carry: booleans, floats, JSON, nullable text,
// bytes and times, and a key of an integer and a text.
var sampleSet = &sqldb.Migrations{Name: "datamove_test", FS: fstest.MapFS{
	"sqlite/00001_samples.sql": {Data: []byte(`-- +goose Up
CREATE TABLE samples (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    flag    BOOLEAN NOT NULL,
    ratio   REAL,
    doc     JSON,
    note    TEXT,
    data    BLOB,
    at      DATETIME
);
CREATE TABLE sample_tags (
    sample_id INTEGER NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    tag       TEXT    NOT NULL,
    PRIMARY KEY (sample_id, tag)
);
-- +goose Down
DROP TABLE sample_tags;
DROP TABLE samples;
`)},
	"postgres/00001_samples.sql": {Data: []byte(`-- +goose Up
CREATE TABLE samples (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    flag    boolean NOT NULL,
    ratio   double precision,
    doc     jsonb,
    note    text,
    data    bytea,
    at      timestamptz
);
CREATE TABLE sample_tags (
    sample_id bigint NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    tag       text   NOT NULL,
    PRIMARY KEY (sample_id, tag)
);
-- +goose Down
DROP TABLE sample_tags;
DROP TABLE samples;
`)},
	"mysql/00001_samples.sql": {Data: []byte(`-- +goose Up
CREATE TABLE samples (
    id      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NULL,
    flag    BOOLEAN NOT NULL,
    ratio   DOUBLE,
    doc     JSON,
    note    TEXT,
    data    BLOB,
    at      DATETIME(6),
    CONSTRAINT samples_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE TABLE sample_tags (
    sample_id BIGINT NOT NULL,
    tag       VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (sample_id, tag),
    CONSTRAINT sample_tags_sample_id_fkey FOREIGN KEY (sample_id) REFERENCES samples (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
-- +goose Down
DROP TABLE sample_tags;
DROP TABLE samples;
`)},
}}

var sets = []*sqldb.Migrations{store.Schema, jobs.Schema, sampleSet}

// dbURL returns the URL of a fresh, empty database of the engine whose
// name says it is this package's.
func dbURL(tb testing.TB, d sqldb.Dialect) string {
	tb.Helper()
	switch d {
	case sqldb.Postgres:
		return testenv.PostgresDatabaseNamed(tb, "kura_datamove_")
	case sqldb.MySQL:
		return testenv.MySQLDatabaseNamed(tb, "kura_datamove_")
	}
	return filepath.Join(tb.TempDir(), "datamove.db")
}

func openURL(tb testing.TB, url string) *sqldb.DB {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: url, Logger: dbtest.Logger(tb, slog.LevelError)})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// openEmpty opens a fresh database of the engine, not migrated.
func openEmpty(tb testing.TB, d sqldb.Dialect) *sqldb.DB {
	tb.Helper()
	return openURL(tb, dbURL(tb, d))
}

// openMigrated opens a fresh database of the engine with every set.
func openMigrated(tb testing.TB, d sqldb.Dialect) *sqldb.DB {
	tb.Helper()
	db := openEmpty(tb, d)
	if err := db.MigrateUp(context.Background(), sets...); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

func exec(tb testing.TB, db *sqldb.DB, q string, args ...any) {
	tb.Helper()
	if _, err := db.Writer().ExecContext(context.Background(), db.Rebind(q), args...); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

// Values that must cross every engine as they are.
var (
	longText = strings.Repeat("Grüße, 世界! ", 120) // 1,440 characters, multi-byte
	baseTime = time.Date(2026, 3, 29, 1, 30, 15, 123456000, time.UTC)
)

// seed fills a migrated source with users, sessions, notifications,
// samples of every type and tags, and jobs: two waiting, one finished.
func seed(tb testing.TB, db *sqldb.DB, users int) {
	tb.Helper()
	ctx := context.Background()
	at := func(i int) any { return db.TimeArg(baseTime.Add(time.Duration(i) * time.Second)) }
	for i := 1; i <= users; i++ {
		profile, err := sqldb.CanonicalJSON(fmt.Appendf(nil, `{"city":"都市 %d","bio":"line\nbreak \"q\" ✓","n":%d.50,"big":1e21,"prefs":{"dark":%t,"tags":["a","b"]}}`, i%3, i, i%2 == 0))
		if err != nil {
			tb.Fatal(err)
		}
		exec(tb, db, `INSERT INTO users (email, username, password_hash, role, created_at, updated_at, profile) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("ユーザー%d", i), "$argon2id$v=19$"+strings.Repeat("x", 80), []string{"user", "admin"}[i%2], at(i), at(i+1), profile)
		exec(tb, db, `INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			i, bytes.Repeat([]byte{byte(i), 0, 0xff}, 11)[:32], at(i), at(i+3600))
		exec(tb, db, `INSERT INTO notifications (user_id, kind, idempotency_key, message, created_at) VALUES (?, ?, ?, ?, ?)`,
			i, "welcome", fmt.Sprintf("welcome:%d", i), longText, at(i))
	}
	exec(tb, db, `UPDATE users SET disabled = 1 WHERE id = 3`)
	exec(tb, db, `INSERT INTO audit_log (created_at, actor_id, actor, action, target_id, detail) VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)`,
		at(1), 1, "ユーザー1", "user.disable", 3, `{"sessions_ended":1}`, at(2), nil, "operator:root", "user.role", nil, `{"from":"user","to":"admin"}`)
	samples := []struct {
		user       any
		flag       bool
		ratio, doc any
		note       any
		data       any
		at         any
		tags       []string
	}{
		{1, true, 0.5, `{"b": [1, 2.5, "x"], "a": {"z": null, "y": true}}`, "", []byte{}, at(0), []string{"B", "a", "é", "Z", "a b"}},
		{nil, false, nil, nil, nil, nil, nil, nil},
		{2, true, -1e300, `"just a string"`, longText, []byte{0, 1, 2, 0xfe, 0xff}, db.TimeArg(time.Date(1999, 12, 31, 23, 59, 59, 999000000, time.UTC)), []string{"ü"}},
		{users, false, 3.0, `[]`, "line\nbreak\ttab 'quote' \"dq\" \\", bytes.Repeat([]byte("bin"), 1000), at(5), nil},
	}
	for _, s := range samples {
		var id int64
		q := db.Rebind(`INSERT INTO samples (user_id, flag, ratio, doc, note, data, at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		res, err := db.Writer().ExecContext(ctx, q, s.user, s.flag, s.ratio, s.doc, s.note, s.data, s.at)
		if err == nil && db.Dialect() != sqldb.Postgres {
			id, err = res.LastInsertId()
		}
		if db.Dialect() == sqldb.Postgres && err == nil {
			err = db.Writer().QueryRowContext(ctx, `SELECT MAX(id) FROM samples`).Scan(&id)
		}
		if err != nil {
			tb.Fatalf("insert a sample: %v", err)
		}
		for _, tag := range s.tags {
			exec(tb, db, `INSERT INTO sample_tags (sample_id, tag) VALUES (?, ?)`, id, tag)
		}
	}
	c, err := jobs.New(db, jobs.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	for i, opts := range []*jobs.EnqueueOpts{nil, {ScheduledAt: time.Now().Add(time.Hour), Priority: 3}, nil} {
		row, err := c.Enqueue(ctx, greet{Name: fmt.Sprintf("Zoë %d", i)}, opts)
		if err != nil {
			tb.Fatalf("enqueue: %v", err)
		}
		if i == 2 {
			if _, err := c.Cancel(ctx, row.ID); err != nil {
				tb.Fatalf("cancel: %v", err)
			}
		}
	}
}

type greet struct {
	Name string `json:"name"`
}

func (greet) Kind() string { return "datamove.greet" }
