package maintain_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/maintain"
	"github.com/kura-dev/kura/sqldb"
)

// unusedNames returns the names of the report's unused indexes.
func unusedNames(ix *maintain.Indexes) []string {
	var names []string
	for _, i := range ix.Unused {
		names = append(names, i.Name)
	}
	return names
}

func TestUnusedIndexes_SQLiteByPlans(t *testing.T) {
	db := dbtest.Open(t, sqldb.SQLite)
	fillItems(t, db, 100)
	stmts := append(jobsStatements(sqldb.SQLite), sqldb.Statement{Name: "items.by_a", Query: "SELECT id FROM items WHERE a = ?"})
	ix, err := maintain.UnusedIndexes(context.Background(), db, stmts)
	if err != nil {
		t.Fatal(err)
	}
	names := unusedNames(ix)
	t.Logf("unused: %v; not judged: %v; unexplained: %v", names, ix.Uncovered, ix.Unexplained)
	if !slices.Contains(names, "items_b_idx") || slices.Contains(names, "items_a_idx") {
		t.Fatalf("unused %v: want items_b_idx (no plan uses it) and not items_a_idx (items.by_a's plan does)", names)
	}
	// kura's own indexes: every one serves a statement or a constraint.
	for _, n := range names {
		if strings.HasPrefix(n, "users_") || strings.HasPrefix(n, "sessions_") || strings.HasPrefix(n, "notifications_") || strings.HasPrefix(n, "idempotency_keys_") {
			t.Errorf("kura's index %s reported unused: a statement of store.Statements should use it", n)
		}
	}
	if len(ix.Unexplained) > 0 {
		t.Errorf("statements not explained: %v", ix.Unexplained)
	}
}

func TestUnusedIndexes_PostgresByScans(t *testing.T) {
	db := dbtest.Open(t, sqldb.Postgres)
	fillItems(t, db, 100)
	ctx := context.Background()
	// Make the planner use items_a_idx, as it would on a large table.
	err := db.WithWriter(ctx, func(c *sql.Conn) error {
		if _, err := c.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
			return err
		}
		defer c.ExecContext(ctx, "RESET enable_seqscan")
		var n int
		return c.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE a = 7").Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Wait(t, 0, "the index scan in the statistics", func() bool {
		var scans int64
		err := db.Reader().QueryRow("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_a_idx'").Scan(&scans)
		return err == nil && scans > 0
	})
	ix, err := maintain.UnusedIndexes(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := unusedNames(ix)
	t.Logf("unused: %v since %v (%s)", names, ix.Since, ix.SinceNote)
	if !ix.Available || !slices.Contains(names, "items_b_idx") || slices.Contains(names, "items_a_idx") {
		t.Fatalf("unused %v: want items_b_idx (never scanned) and not items_a_idx (scanned)", names)
	}
	if slices.Contains(names, "items_pkey") || slices.Contains(names, "users_email_key") || ix.SinceNote == "" {
		t.Fatalf("unused %v (%q): want no unique or primary key index, and what the counts cover", names, ix.SinceNote)
	}
}

func TestUnusedIndexes_MySQL(t *testing.T) {
	db := dbtest.Open(t, sqldb.MySQL)
	fillItems(t, db, 100)
	ctx := context.Background()
	var name, userstat, pfs string
	if err := db.Reader().QueryRow("SHOW GLOBAL VARIABLES LIKE 'userstat'").Scan(&name, &userstat); err != nil {
		t.Skipf("not MariaDB (no userstat): %v", err)
	}
	if err := db.Reader().QueryRow("SHOW GLOBAL VARIABLES LIKE 'performance_schema'").Scan(&name, &pfs); err != nil {
		t.Fatal(err)
	}
	if userstat == "OFF" && pfs == "OFF" {
		ix, err := maintain.UnusedIndexes(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ix.Available || !strings.Contains(ix.Reason, "userstat") || len(ix.Unused) != 0 {
			t.Fatalf("with performance_schema and userstat off: %+v, want not available, saying how to turn it on", ix)
		}
		// Count index reads (MariaDB's user statistics) for the rest of
		// the test; counts are per database, and this one is the test's.
		exec(t, db, "SET GLOBAL userstat = 1")
		t.Cleanup(func() { exec(t, db, "SET GLOBAL userstat = 0") })
	}
	var n int
	if err := db.Reader().QueryRow("SELECT COUNT(*) FROM items FORCE INDEX (items_a_idx) WHERE a = 7").Scan(&n); err != nil {
		t.Fatal(err)
	}
	ix, err := maintain.UnusedIndexes(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := unusedNames(ix)
	t.Logf("unused: %v by %s since %v", names, ix.Method, ix.Since)
	if !ix.Available || !slices.Contains(names, "items_b_idx") || slices.Contains(names, "items_a_idx") || slices.Contains(names, "PRIMARY") {
		t.Fatalf("unused %v: want items_b_idx (never read), not items_a_idx (read) nor PRIMARY", names)
	}
}
