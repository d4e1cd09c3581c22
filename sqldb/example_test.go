package sqldb_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// bookmarks is an application's own set of migrations. A real app embeds
// a directory per engine (sqlite/, postgres/, mysql/; see
// sqldb.Migrations); this example runs on SQLite only.
var bookmarks = &sqldb.Migrations{Name: "bookmarks", FS: fstest.MapFS{
	"sqlite/00001_bookmarks.sql": {Data: []byte(`
-- +goose Up
CREATE TABLE bookmarks (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url        TEXT     NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX bookmarks_user_url_key ON bookmarks (user_id, url);
CREATE INDEX bookmarks_user_id_idx ON bookmarks (user_id, id);
-- +goose Down
DROP TABLE bookmarks;
`)},
}}

type bookmark struct {
	ID        int64
	URL       string
	CreatedAt time.Time
}

// scanBookmark reads the columns "id, url, ts(created_at)": ts() and
// sqldb.Time read a timestamp alike on every engine.
func scanBookmark(r sqldb.Scanner) (*bookmark, error) {
	var b bookmark
	if err := r.Scan(&b.ID, &b.URL, sqldb.Time(&b.CreatedAt)); err != nil {
		return nil, err
	}
	return &b, nil
}

// Example shows an application's own table next to kura's: its migrations
// applied after kura's, a transaction, an insert that names the clashing
// field, and a keyset list, written once for every engine.
func Example() {
	dir, _ := os.MkdirTemp("", "sqldb-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{
		URL:    filepath.Join(dir, "app.db"), // or postgres://..., mysql://...
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	// kura's tables first, then the app's: each set keeps its own history.
	if err := db.MigrateUp(ctx, store.Schema, bookmarks); err != nil {
		fmt.Println(err)
		return
	}
	u, err := accounts.NewUserService(db).CreateUser(ctx, kura.NewUser{Email: "ann@example.com", Username: "ann", Password: "a long passphrase"})
	if err != nil {
		fmt.Println(err)
		return
	}

	add := func(url string) error {
		return db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := db.Insert(ctx, tx, "INSERT INTO bookmarks (user_id, url, created_at) VALUES (?, ?, ?)",
				u.ID, url, db.Timestamp()) // a time.Time as it is
			return sqldb.Conflict(err, "url") // a unique violation becomes ECONFLICT naming "url"
		})
	}
	for _, url := range []string{"https://go.dev", "https://sqlite.org", "https://go.dev"} {
		if err := add(url); err != nil {
			fmt.Println(kura.ErrorCode(err), kura.ErrorFields(err))
		}
	}

	page, err := sqldb.List(ctx, db, kura.ListOptions{Limit: 1}, sqldb.NewestFirst[*bookmark]{
		Columns: "id, url, ts(created_at)", Table: "bookmarks", Where: "user_id = ?", Args: []any{u.ID},
		Scan: scanBookmark, ID: func(b *bookmark) int64 { return b.ID },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(page.Items[0].URL, page.NextCursor != "")
	// Output:
	// conflict map[url:is already taken]
	// https://sqlite.org true
}

// ExampleDB_MigrationStatus lists the migrations of each set.
func ExampleDB_MigrationStatus() {
	dir, _ := os.MkdirTemp("", "sqldb-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: filepath.Join(dir, "app.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema, bookmarks); err != nil {
		fmt.Println(err)
		return
	}
	list, _ := db.MigrationStatus(ctx, store.Schema, bookmarks)
	for _, s := range list {
		fmt.Println(s.Set, s.Version, s.Name, s.Applied)
	}
	// Output:
	// kura 1 00001_users.sql true
	// kura 2 00002_sessions.sql true
	// kura 3 00003_jobs_moved.go true
	// kura 4 00004_notifications.sql true
	// kura 5 00005_operations.sql true
	// kura 6 00006_cache_invalidations.sql true
	// kura 7 00007_database.sql true
	// kura 8 00008_read_only.sql true
	// kura 9 00009_idempotency_keys.sql true
	// kura 10 00010_user_profile.sql true
	// kura 11 00011_account_tokens.sql true
	// kura 12 00012_admin.sql true
	// bookmarks 1 00001_bookmarks.sql true
}

// ExampleDB_Upsert saves a bookmark twice: the second save updates the
// row the first inserted, found by its unique key (user_id, url).
func ExampleDB_Upsert() {
	dir, _ := os.MkdirTemp("", "sqldb-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: filepath.Join(dir, "app.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema, bookmarks); err != nil {
		fmt.Println(err)
		return
	}
	u, err := accounts.NewUserService(db).CreateUser(ctx, kura.NewUser{Email: "ann@example.com", Username: "ann", Password: "a long passphrase"})
	if err != nil {
		fmt.Println(err)
		return
	}
	save := sqldb.Upsert{Table: "bookmarks", Key: []string{"user_id", "url"}, Set: []string{"created_at"}}
	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, at := range []time.Time{first, first.Add(time.Hour)} {
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			return db.Upsert(ctx, tx, save, u.ID, "https://go.dev", at)
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	var n int
	var at time.Time
	err = db.Read(ctx, func(q sqldb.Querier) error {
		return q.QueryRowContext(ctx, "SELECT COUNT(*), MAX(created_at) FROM bookmarks WHERE user_id = ?", u.ID).Scan(&n, sqldb.Time(&at))
	})
	fmt.Println(n, at, err)
	// Output:
	// 1 2026-01-02 04:04:05 +0000 UTC <nil>
}
