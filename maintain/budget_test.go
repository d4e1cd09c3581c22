package maintain_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/maintain"
	"github.com/kura-dev/kura/sqldb"
)

// serverLimit reads what the server allows ordinary roles, as a test
// computes it on its own.
func serverLimit(tb testing.TB, db *sqldb.DB) int {
	tb.Helper()
	var limit int
	var err error
	if db.Dialect() == sqldb.Postgres {
		err = db.Reader().QueryRow("SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - COALESCE(current_setting('reserved_connections', true)::int, 0)").Scan(&limit)
	} else {
		err = db.Reader().QueryRow("SELECT @@max_connections").Scan(&limit)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return limit
}

func TestConnectionBudget(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		in := maintain.BudgetInput{Instances: 1, PoolSize: sqldb.DefaultPoolSize, MaxOverflow: sqldb.DefaultMaxOverflow, WorkerConns: jobs.WorkerConns(db.Dialect())}
		b, err := maintain.ConnectionBudget(ctx, db, in)
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == sqldb.SQLite {
			if b.Applicable || !strings.Contains(b.Reason, "one writer") {
				t.Fatalf("SQLite: %+v, want not applicable, saying why", b)
			}
			return
		}
		limit := serverLimit(t, db)
		per := sqldb.DefaultPoolSize + sqldb.DefaultMaxOverflow + jobs.WorkerConns(db.Dialect()) + b.MigratorConns
		t.Logf("one instance: %d of %d: %s", b.Total, b.Available, b.Verdict)
		if b.Available != limit || b.Total != per || b.Verdict != maintain.BudgetOK || b.InUse < 1 {
			t.Fatalf("one instance: %+v; want %d per instance against %d, ok, and the connections open now", b, per, limit)
		}

		// Enough instances to pass the limit, and as many as just fit in
		// four fifths of it.
		in.Instances = limit/per + 1
		if b, err = maintain.ConnectionBudget(ctx, db, in); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d instances: %d of %d: %s: %s", in.Instances, b.Total, b.Available, b.Verdict, b.Advice)
		if b.Verdict != maintain.BudgetOver || b.Total != in.Instances*per || !strings.Contains(b.Advice, "DB_POOL_SIZE") {
			t.Fatalf("%d instances: %+v, want over, with advice naming DB_POOL_SIZE", in.Instances, b)
		}
		in.Instances = limit / per
		if b, err = maintain.ConnectionBudget(ctx, db, in); err != nil {
			t.Fatal(err)
		}
		if want := maintain.BudgetTight; float64(b.Total) <= maintain.TightShare*float64(limit) {
			want = maintain.BudgetOK
			if b.Verdict != want {
				t.Fatalf("%d instances: %+v, want %s", in.Instances, b, want)
			}
		} else if b.Verdict != want {
			t.Fatalf("%d instances: %+v, want %s", in.Instances, b, want)
		}
		if _, err := maintain.ConnectionBudget(ctx, db, maintain.BudgetInput{Instances: 0, PoolSize: 1}); err == nil {
			t.Fatal("0 instances: no error")
		}
	})
}
