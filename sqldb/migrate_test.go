package sqldb_test

import (
	"context"
	"testing"

	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestDB_Migrations(t *testing.T) {
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := MustOpenConfig(t, sqldb.Config{URL: MustTestURL(t, d)}, false)
			applied := func() (n int) {
				t.Helper()
				st, err := db.MigrationStatus(ctx, store.Schema)
				if err != nil {
					t.Fatal(err)
				}
				if len(st) < 2 || st[0].Version != 1 || st[0].Name != "00001_users.sql" || st[1].Name != "00002_sessions.sql" {
					t.Fatalf("status = %+v", st)
				}
				for _, s := range st {
					if s.Applied {
						n++
						if s.AppliedAt.IsZero() {
							t.Fatalf("applied without a time: %+v", s)
						}
					}
				}
				return n
			}
			if n := applied(); n != 0 {
				t.Fatalf("fresh database has %d migrations applied", n)
			}
			if err := db.MigrateUp(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			all := applied()
			if err := db.MigrateUp(ctx, store.Schema); err != nil { // idempotent
				t.Fatal(err)
			}
			if err := db.MigrateDown(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			if n := applied(); n != all-1 {
				t.Fatalf("after one step down %d applied; want %d", n, all-1)
			}
			for range all - 1 {
				if err := db.MigrateDown(ctx, store.Schema); err != nil {
					t.Fatal(err)
				}
			}
			if n := applied(); n != 0 {
				t.Fatalf("after all steps down %d applied", n)
			}
			if err := db.MigrateUp(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			MustCreateUser(t, db, "nia@example.com", "nia") // the schema works after the round trip
		})
	}
}

func TestDB_MigrateUp_Concurrent(t *testing.T) {
	// Two instances migrating one PostgreSQL database at once: the advisory
	// lock serialises them and both succeed.
	url := MustTestURL(t, sqldb.Postgres)
	a := MustOpenConfig(t, sqldb.Config{URL: url}, false)
	b := MustOpenConfig(t, sqldb.Config{URL: url}, false)
	errs := make(chan error, 2)
	for _, db := range []*sqldb.DB{a, b} {
		go func() { errs <- db.MigrateUp(context.Background(), store.Schema) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	MustCreateUser(t, a, "oli@example.com", "oli")
}

func TestDB_MigrationStatus_ChangesNothing(t *testing.T) {
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := MustOpenConfig(t, sqldb.Config{URL: MustTestURL(t, d)}, false)
			tables := func() int {
				t.Helper()
				q := map[sqldb.Dialect]string{
					sqldb.SQLite:   "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
					sqldb.Postgres: "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'",
					sqldb.MySQL:    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()",
				}[d]
				var n int
				if err := db.Reader().QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := tables()
			st, err := db.MigrationStatus(ctx, store.Schema)
			if err != nil {
				t.Fatal(err)
			}
			if len(st) < 3 || st[0].Applied || st[0].Name != "00001_users.sql" {
				t.Fatalf("status of a fresh database = %+v", st)
			}
			if after := tables(); after != before {
				t.Fatalf("asking for the status made %d tables", after-before)
			}
		})
	}
}
