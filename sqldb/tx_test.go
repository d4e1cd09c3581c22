package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
)

func TestDB_InTx(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		insert := func(tx *sqldb.Tx, name string) error {
			q := "INSERT INTO users (email, username, password_hash) VALUES ('" + name + "@example.com', '" + name + "', 'x')"
			_, err := tx.ExecContext(ctx, q)
			return err
		}
		count := func() (n int) {
			t.Helper()
			if err := db.Reader().QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		t.Run("Commit", func(t *testing.T) {
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return insert(tx, "tx1") }); err != nil {
				t.Fatal(err)
			}
			if n := count(); n != 1 {
				t.Fatalf("count = %d; want 1", n)
			}
		})

		t.Run("RollbackOnError", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				if err := insert(tx, "tx2"); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v; want boom", err)
			}
			if n := count(); n != 1 {
				t.Fatalf("count = %d; want 1 (rolled back)", n)
			}
		})

		t.Run("RollbackOnPanic", func(t *testing.T) {
			func() {
				defer func() {
					if p := recover(); p != "kaboom" {
						t.Fatalf("recovered %v; want the panic re-raised", p)
					}
				}()
				_ = db.InTx(ctx, func(tx *sqldb.Tx) error {
					if err := insert(tx, "tx3"); err != nil {
						return err
					}
					panic("kaboom")
				})
			}()
			if n := count(); n != 1 {
				t.Fatalf("count = %d; want 1 (rolled back)", n)
			}
			// The connection went back to the pool in a usable state.
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return insert(tx, "tx4") }); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestSQLite_ConcurrentWriters hammers the single writer from 50 goroutines
// at once (10 creating users, 40 running read-then-write transactions);
// none may see "database is locked" (SQLITE_BUSY).
func TestSQLite_ConcurrentWriters(t *testing.T) {
	db := MustOpenDB(t, sqldb.SQLite)
	users := accounts.NewUserService(db)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	start := make(chan struct{})
	for i := range 40 {
		wg.Add(1)
		if i < 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := users.CreateUser(ctx, kura.NewUser{
					Email: fmt.Sprintf("w%d@example.com", i), Username: fmt.Sprintf("writer%d", i), Password: "password-1"})
				errs <- err
			}()
		}
		go func() {
			defer wg.Done()
			<-start
			errs <- db.InTx(ctx, func(tx *sqldb.Tx) error {
				var n int
				if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO users (email, username, password_hash) VALUES (?, ?, 'x')",
					fmt.Sprintf("tx%d@example.com", i), fmt.Sprintf("tx%d", i))
				return err
			})
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent write: %v", err)
		}
	}
	var n int
	if err := db.Reader().QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 50 {
		t.Fatalf("count = %d, %v; want 50", n, err)
	}
}

func TestSQLite_ReaderIsReadOnly(t *testing.T) {
	db := MustOpenDB(t, sqldb.SQLite)
	_, err := db.Reader().Exec("INSERT INTO users (email, username, password_hash) VALUES ('r@example.com', 'r', 'x')")
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("write through the reader = %v; want a read-only error", err)
	}
	var mode string
	if err := db.Reader().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := db.Reader().QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
}

// TestSQLite_TimeColumns checks that the driver scans the schema's text
// timestamps (strftime '%Y-%m-%d %H:%M:%f' in DATETIME columns) into
// time.Time, for code that scans them directly.
func TestSQLite_TimeColumns(t *testing.T) {
	db := MustOpenDB(t, sqldb.SQLite)
	before := time.Now().UTC().Add(-time.Second)
	u := MustCreateUser(t, db, "tina@example.com", "tina")
	var created, updated time.Time
	var raw string
	err := db.Reader().QueryRow("SELECT created_at, updated_at, CAST(created_at AS TEXT) FROM users WHERE id = ?", u.ID).
		Scan(&created, &updated, &raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != len("2006-01-02 15:04:05.000") || created.Before(before) || !created.Equal(u.CreatedAt) {
		t.Fatalf("created_at %v (stored %q); want about now, equal to %v", created, raw, u.CreatedAt)
	}
}
