package sqldb_test

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// TestDB_Identity: a database has no identity before kura's migration 7,
// one of 32 hex digits after it that later migrations keep, and two
// databases have two identities. Steps down to version 6 (a database
// migrated before identities existed) removes it; the next migration makes
// a new one.
func TestDB_Identity(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := MustOpenConfig(t, sqldb.Config{URL: MustTestURL(t, d)}, false)
			if _, err := db.Identity(ctx); !errors.Is(err, sqldb.ErrNoIdentity) {
				t.Fatalf("fresh database: %v; want ErrNoIdentity", err)
			}
			if err := db.MigrateUp(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			first, err := db.Identity(ctx)
			if err != nil || !hex32.MatchString(first) {
				t.Fatalf("identity %q, %v; want 32 hex digits", first, err)
			}
			if err := db.MigrateUp(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			if again, _ := db.Identity(ctx); again != first {
				t.Fatalf("a second migration changed the identity: %s, then %s", first, again)
			}
			// Down past the later migrations, which keep it, then one step more.
			list, err := db.MigrationStatus(ctx, store.Schema)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range list {
				if m.Version <= 7 {
					continue
				}
				if err := db.MigrateDown(ctx, store.Schema); err != nil {
					t.Fatal(err)
				}
				if id, err := db.Identity(ctx); id != first {
					t.Fatalf("after undoing migration %d: %q, %v; want the identity kept", m.Version, id, err)
				}
			}
			if err := db.MigrateDown(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Identity(ctx); !errors.Is(err, sqldb.ErrNoIdentity) {
				t.Fatalf("after a step down: %v; want ErrNoIdentity", err)
			}
			if err := db.MigrateUp(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			next, err := db.Identity(ctx)
			if err != nil || !hex32.MatchString(next) || next == first {
				t.Fatalf("identity made at the next migration: %q, %v (the first was %s)", next, err, first)
			}
			other := MustOpenConfig(t, sqldb.Config{URL: MustTestURL(t, d)}, true)
			if id, _ := other.Identity(ctx); id == next || !hex32.MatchString(id) {
				t.Fatalf("two databases, identities %s and %s", next, id)
			}
			// One row only.
			if _, err := db.Writer().ExecContext(ctx, `INSERT INTO kura_database (id) VALUES ('0123456789abcdef0123456789abcdef')`); err == nil {
				t.Fatal("a second identity row was accepted")
			}
		})
	}
}
