package maintain_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/maintain"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// exec runs statements on the writer, failing the test on an error.
func exec(tb testing.TB, db *sqldb.DB, stmts ...string) {
	tb.Helper()
	for _, s := range stmts {
		if _, err := db.Writer().ExecContext(context.Background(), s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
}

// fillItems makes an application's own table, items(id, a, b, body),
// with an index on a and one on b, and n rows of about 400 bytes each.
func fillItems(tb testing.TB, db *sqldb.DB, n int) {
	tb.Helper()
	id := "INTEGER PRIMARY KEY"
	switch db.Dialect() {
	case sqldb.Postgres:
		id = "BIGSERIAL PRIMARY KEY"
	case sqldb.MySQL:
		id = "BIGINT AUTO_INCREMENT PRIMARY KEY"
	}
	exec(tb, db, "CREATE TABLE items (id "+id+", a INT NOT NULL, b INT NOT NULL, body VARCHAR(500) NOT NULL)",
		"CREATE INDEX items_a_idx ON items (a)", "CREATE INDEX items_b_idx ON items (b)")
	body := strings.Repeat("x", 400)
	const batch = 500
	for done := 0; done < n; done += batch {
		var vals []string
		for i := done; i < min(n, done+batch); i++ {
			vals = append(vals, fmt.Sprintf("(%d, %d, '%s')", i, i%97, body))
		}
		exec(tb, db, "INSERT INTO items (a, b, body) VALUES "+strings.Join(vals, ", "))
	}
}

// run runs maintain.Run, failing the test on an error, and checks that
// the report encodes as JSON and prints as text.
func run(tb testing.TB, db *sqldb.DB, opts maintain.Options) *maintain.Report {
	tb.Helper()
	r, err := maintain.Run(context.Background(), db, opts)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil || !json.Valid(b.Bytes()) {
		tb.Fatalf("WriteJSON: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := r.WriteText(&b); err != nil {
		tb.Fatalf("WriteText: %v", err)
	}
	tb.Logf("report:\n%s", b.String())
	return r
}

// step returns the step of the report called name on target.
func step(tb testing.TB, r *maintain.Report, name, target string) maintain.Step {
	tb.Helper()
	for _, s := range r.Steps {
		if s.Name == name && s.Target == target {
			return s
		}
	}
	tb.Fatalf("no step %s %s in %+v", name, target, r.Steps)
	return maintain.Step{}
}

// table returns the report's row of the table called name.
func table(tb testing.TB, r *maintain.Report, name string) maintain.Table {
	tb.Helper()
	for _, t := range r.Tables {
		if t.Name == name || strings.HasSuffix(t.Name, "."+name) {
			return t
		}
	}
	tb.Fatalf("no table %s in %+v", name, r.Tables)
	return maintain.Table{}
}

func TestRun_SQLiteVacuumShrinksTheFile(t *testing.T) {
	db := dbtest.Open(t, sqldb.SQLite)
	fillItems(t, db, 10000)
	exec(t, db, "DELETE FROM items WHERE id > 1000", "PRAGMA wal_checkpoint(TRUNCATE)")
	path := run(t, db, maintain.Options{ReportOnly: true}).SQLite.Path
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	r := run(t, db, maintain.Options{})
	if s := step(t, r, "vacuum", ""); s.Status != maintain.StatusDone {
		t.Fatalf("vacuum: %+v, want done: %d of %d pages were free", s, r.SQLite.FreePagesBefore, r.SQLite.PagesBefore)
	}
	for _, name := range []string{"quick_check", "optimize", "wal_checkpoint"} {
		if s := step(t, r, name, ""); s.Status != maintain.StatusDone {
			t.Errorf("%s: %+v, want done", name, s)
		}
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file %d -> %d bytes; report %d -> %d", before.Size(), after.Size(), r.SQLite.BytesBefore, r.SQLite.BytesAfter)
	if after.Size() > before.Size()/2 || r.SQLite.BytesAfter != after.Size() || r.SQLite.FreePagesAfter != 0 {
		t.Fatalf("file %d -> %d bytes (report %+v): want it at least halved, no free page left", before.Size(), after.Size(), r.SQLite)
	}
	if r.SQLite.WALBytesAfter != 0 {
		t.Errorf("WAL after the TRUNCATE checkpoint: %d bytes, want 0", r.SQLite.WALBytesAfter)
	}
	var n int
	if err := db.Reader().QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("rows after vacuum: %d, %v; want 1000", n, err)
	}
}

func TestRun_SQLiteBelowThresholdAndReportOnly(t *testing.T) {
	db := dbtest.Open(t, sqldb.SQLite)
	fillItems(t, db, 2000)
	exec(t, db, "DELETE FROM items WHERE id <= 100")
	r := run(t, db, maintain.Options{})
	if s := step(t, r, "vacuum", ""); s.Status != maintain.StatusSkipped || !strings.Contains(s.Detail, "below the threshold") {
		t.Errorf("vacuum with few free pages: %+v, want skipped below the threshold", s)
	}
	r = run(t, db, maintain.Options{ReportOnly: true, VacuumFreeRatio: 0.0001, VacuumMinFree: 1})
	for _, name := range []string{"optimize", "vacuum", "wal_checkpoint"} {
		if s := step(t, r, name, ""); s.Status != maintain.StatusSkipped || s.Detail != "report only" {
			t.Errorf("%s with ReportOnly: %+v, want skipped", name, s)
		}
	}
	if s := step(t, r, "quick_check", ""); s.Status != maintain.StatusDone {
		t.Errorf("quick_check with ReportOnly: %+v, want done", s)
	}
}

func TestRun_SQLiteVacuumAndCheckpointWhileReading(t *testing.T) {
	db := dbtest.Open(t, sqldb.SQLite)
	fillItems(t, db, 200)
	// A reader in the middle of a read transaction holds the WAL's
	// snapshot; a write after it leaves frames the checkpoint cannot copy.
	ctx := context.Background()
	tx, err := db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "DELETE FROM items WHERE id > 20")
	r := run(t, db, maintain.Options{BusyTimeout: 1, VacuumFreeRatio: 0.0001, VacuumMinFree: 1}) // 0 ms: do not wait for the reader
	if s := step(t, r, "vacuum", ""); s.Status != maintain.StatusDone {
		t.Fatalf("vacuum while a reader holds a snapshot: %+v, want done: readers do not stop it", s)
	}
	if s := step(t, r, "wal_checkpoint", ""); s.Status != maintain.StatusBusy {
		t.Fatalf("checkpoint while a reader holds a snapshot: %+v, want busy", s)
	}
	// The reader still sees its snapshot, whole.
	var again int
	if err := tx.QueryRow("SELECT COUNT(*) FROM items").Scan(&again); err != nil || again != n {
		t.Fatalf("the reader's count after the vacuum: %d, %v; want %d", again, err, n)
	}
}

func TestRun_SQLiteQuickCheckFails(t *testing.T) {
	url := dbtest.URL(t, sqldb.SQLite)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url, Logger: dbtest.Logger(t, 8)})
	if err != nil {
		t.Fatal(err)
	}
	fillItems(t, db, 3000)
	exec(t, db, "PRAGMA wal_checkpoint(TRUNCATE)")
	db.Close()
	dbtest.CorruptSQLiteIndex(t, url, "items_b_idx")

	db, err = sqldb.Open(ctx, sqldb.Config{URL: url, Logger: dbtest.Logger(t, 8)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := maintain.Run(ctx, db, maintain.Options{VacuumFreeRatio: 0.0001, VacuumMinFree: 1})
	if err == nil || !strings.Contains(err.Error(), "quick_check") {
		t.Fatalf("Run on a damaged file: %v, want an error naming quick_check", err)
	}
	if s := step(t, r, "quick_check", ""); s.Status != maintain.StatusFailed {
		t.Fatalf("quick_check: %+v, want failed", s)
	}
	if s := step(t, r, "vacuum", ""); s.Status != maintain.StatusSkipped {
		t.Fatalf("vacuum of a damaged file: %+v, want skipped", s)
	}
}

func TestRun_PostgresVacuumsDeadRows(t *testing.T) {
	db := dbtest.Open(t, sqldb.Postgres)
	fillItems(t, db, 20000)
	exec(t, db, "ALTER TABLE items SET (autovacuum_enabled = off)", "DELETE FROM items WHERE id > 5000")
	deadRows := func() (dead int64, vacuumed bool) {
		err := db.Reader().QueryRow("SELECT n_dead_tup, last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'items'").Scan(&dead, &vacuumed)
		if err != nil {
			t.Fatal(err)
		}
		return dead, vacuumed
	}
	// Each backend sends its counts to the statistics within a second.
	testenv.Wait(t, 0, "the dead rows in the statistics", func() bool { d, _ := deadRows(); return d >= 15000 })

	r := run(t, db, maintain.Options{})
	if s := step(t, r, "vacuum_analyze", "public.items"); s.Status != maintain.StatusDone {
		t.Fatalf("vacuum of items: %+v, want done", s)
	}
	if s := step(t, r, "vacuum_analyze", "public.users"); s.Status != maintain.StatusSkipped {
		t.Errorf("vacuum of users without dead rows: %+v, want skipped", s)
	}
	it := table(t, r, "items")
	dead, vacuumed := deadRows()
	t.Logf("items: %d dead rows (%.0f%%, %d bytes estimated) -> %d; last_vacuum set: %v", it.DeadRows, 100*it.DeadRatio, it.FreeBytes, dead, vacuumed)
	if it.DeadRows < 15000 || it.FreeBytes == 0 || it.Action != "vacuum (analyze)" {
		t.Errorf("items before: %+v, want 15000 dead rows or more, a bloat estimate and the action", it)
	}
	if dead != 0 || !vacuumed || it.DeadRowsAfter != 0 || it.LastVacuum == nil {
		t.Fatalf("after: n_dead_tup %d, last_vacuum set %v, report %+v; want 0 and set", dead, vacuumed, it)
	}
}

func TestRun_MySQLOptimizesFragmentedTables(t *testing.T) {
	db := dbtest.Open(t, sqldb.MySQL)
	fillItems(t, db, 40000)
	exec(t, db, "DELETE FROM items WHERE id > 4000")
	// InnoDB's purge frees the deleted rows' pages in the background;
	// ANALYZE TABLE brings the figures up to date.
	testenv.Wait(t, 0, "the deleted rows' pages to be free", func() bool {
		var free int64
		rows, err := db.Writer().Query("ANALYZE TABLE items")
		if err == nil {
			rows.Close()
			err = db.Reader().QueryRow("SELECT data_free FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'items'").Scan(&free)
		}
		return err == nil && free >= 8<<20
	})

	r := run(t, db, maintain.Options{FragmentMin: 1 << 20, FragmentRatio: 0.2})
	if s := step(t, r, "analyze", "users"); s.Status != maintain.StatusDone {
		t.Errorf("analyze users: %+v, want done", s)
	}
	if s := step(t, r, "optimize_table", "users"); s.Status != maintain.StatusSkipped {
		t.Errorf("optimize of users, not fragmented: %+v, want skipped", s)
	}
	s := step(t, r, "optimize_table", "items")
	it := table(t, r, "items")
	t.Logf("items: %d bytes + %d free -> %d bytes + %d free", it.Bytes, it.FreeBytes, it.BytesAfter, it.FreeBytesAfter)
	if s.Status != maintain.StatusDone || it.Action != "optimize" {
		t.Fatalf("optimize of items: %+v, %+v; want done", s, it)
	}
	if it.FreeBytesAfter > it.FreeBytes/2 {
		t.Fatalf("items after OPTIMIZE: %d bytes free, want at most half of %d", it.FreeBytesAfter, it.FreeBytes)
	}
}

func TestRun_OnEveryEngineReportsEachTable(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		var progress []string
		r := run(t, db, maintain.Options{ReportOnly: true, Progress: func(done, total int, step string) {
			progress = append(progress, fmt.Sprintf("%d/%d %s", done, total, step))
		}})
		if len(progress) < 2 || !strings.HasSuffix(progress[len(progress)-1], "1/1 done") {
			t.Errorf("progress: %q, want a call per step and a last 1/1 done", progress)
		}
		if db.Dialect() == sqldb.SQLite {
			return
		}
		names := map[string]bool{}
		for _, tb := range r.Tables {
			names[tb.Name[strings.LastIndex(tb.Name, ".")+1:]] = true
		}
		for _, want := range []string{"users", "sessions", "notifications", "goose_db_version"} {
			if !names[want] {
				t.Errorf("tables %v: %s missing", names, want)
			}
		}
	})
}

func TestOptions_Validate(t *testing.T) {
	err := maintain.Options{DeadRatio: -1, VacuumMinFree: -1, Budget: &maintain.BudgetInput{}}.Validate()
	for _, want := range []string{"DeadRatio", "VacuumMinFree", "Instances"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to name %s", err, want)
		}
	}
	if err := (maintain.Options{}).Validate(); err != nil {
		t.Errorf("the zero Options: %v", err)
	}
}

// jobsStatements are kura's and the job queue's statements on d.
func jobsStatements(d sqldb.Dialect) []sqldb.Statement {
	return append(store.Statements(d), jobs.Statements(d)...)
}

func TestRun_PostgresSkipsTablesItMayNotVacuum(t *testing.T) {
	db := dbtest.Open(t, sqldb.Postgres)
	fillItems(t, db, 3000)
	exec(t, db, "ALTER TABLE items SET (autovacuum_enabled = off)", "DELETE FROM items")
	testenv.Wait(t, 0, "the dead rows in the statistics", func() bool {
		var dead int64
		err := db.Reader().QueryRow("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'items'").Scan(&dead)
		return err == nil && dead >= 3000
	})
	// An application role, as kura db roles makes: it owns no table.
	role := "kura_app_" + testenv.RandomSuffix()
	exec(t, db, "CREATE ROLE "+role+" LOGIN", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+role)
	t.Cleanup(func() { exec(t, db, "DROP OWNED BY "+role, "DROP ROLE "+role) })
	var dbName string
	if err := db.Reader().QueryRow("SELECT current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User, u.Path = url.User(role), "/"+dbName
	app, err := sqldb.Open(context.Background(), sqldb.Config{URL: u.String(), Logger: dbtest.Logger(t, 8)})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()

	r := run(t, app, maintain.Options{})
	if s := step(t, r, "vacuum_analyze", "public.items"); s.Status != maintain.StatusSkipped || !strings.Contains(s.Detail, "owner") {
		t.Fatalf("vacuum of a table the role does not own: %+v, want skipped, naming the owner", s)
	}
	if it := table(t, r, "items"); it.DeadRowsAfter < 3000 {
		t.Fatalf("items after: %+v, want its dead rows left", it)
	}
}
