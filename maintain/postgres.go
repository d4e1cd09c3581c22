package maintain

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kura-dev/kura/sqldb"
)

// pgTables lists the tables of the schemas on the search path with their
// statistics, and whether the current role may vacuum them (their owner,
// the database's owner, or a superuser).
const pgTables = `
	SELECT t.schemaname, t.relname, t.n_live_tup, t.n_dead_tup, pg_table_size(t.relid),
	       GREATEST(t.last_vacuum, t.last_autovacuum), GREATEST(t.last_analyze, t.last_autoanalyze),
	       pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE')
	FROM pg_stat_user_tables t
	JOIN pg_class c ON c.oid = t.relid
	JOIN pg_database d ON d.datname = current_database()
	WHERE t.schemaname = ANY (current_schemas(false))
	ORDER BY t.schemaname, t.relname`

// pgTable is a row of pgTables.
type pgTable struct {
	schema, name string
	live, dead   int64
	bytes        int64
	vacuumed     sql.NullTime
	analyzed     sql.NullTime
	mayVacuum    bool
}

func pgReadTables(ctx context.Context, db *sqldb.DB) ([]pgTable, error) {
	rows, err := db.Reader().QueryContext(ctx, pgTables)
	if err != nil {
		return nil, err
	}
	return sqldb.ScanAll(rows, func(s sqldb.Scanner) (pgTable, error) {
		var t pgTable
		err := s.Scan(&t.schema, &t.name, &t.live, &t.dead, &t.bytes, &t.vacuumed, &t.analyzed, &t.mayVacuum)
		return t, err
	})
}

// key is the table's qualified name.
func (t pgTable) key() string { return t.schema + "." + t.name }

// deadRatio is the share of the table's rows that are dead.
func (t pgTable) deadRatio() float64 {
	if t.live+t.dead == 0 {
		return 0
	}
	return float64(t.dead) / float64(t.live+t.dead)
}

// runPostgres runs VACUUM (ANALYZE), never FULL, on each table whose dead
// rows pass the thresholds, one table at a time outside any transaction.
// VACUUM takes a lock that lets reads and writes go on; only DDL waits
// for it. lock_timeout bounds its wait for that lock (a migration holding
// the table), so it never queues the app's queries behind it.
func runPostgres(ctx context.Context, db *sqldb.DB, opts Options, r *Report) error {
	before, err := pgReadTables(ctx, db)
	if err != nil {
		return fmt.Errorf("maintain: read the tables' statistics: %w", err)
	}
	p := &plan{opts: opts, r: r}
	for _, t := range before {
		key := t.key()
		p.add("vacuum_analyze", key, func(ctx context.Context) (string, string, error) {
			why := fmt.Sprintf("%d dead of %d rows (%.0f%%)", t.dead, t.live+t.dead, 100*t.deadRatio())
			switch {
			case opts.ReportOnly:
				return skipped(false)
			case t.dead < opts.DeadMin || t.deadRatio() < opts.DeadRatio:
				return StatusSkipped, why + fmt.Sprintf(": below the threshold (%.0f%% and %d)", 100*opts.DeadRatio, opts.DeadMin), nil
			case !t.mayVacuum:
				return StatusSkipped, why + ": only the table's owner or a superuser may vacuum it (run as the migration role)", nil
			}
			err := db.WithWriter(ctx, func(c *sql.Conn) error {
				if _, err := c.ExecContext(ctx, fmt.Sprintf("SET lock_timeout = %d", opts.BusyTimeout.Milliseconds())); err != nil {
					return err
				}
				defer c.ExecContext(context.WithoutCancel(ctx), "RESET lock_timeout")
				_, err := c.ExecContext(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{t.schema, t.name}.Sanitize())
				return err
			})
			if err != nil {
				return "", "", err
			}
			return StatusDone, why, nil
		})
	}
	runErr := p.run(ctx)
	after, err := pgReadTables(ctx, db)
	if err != nil {
		return fmt.Errorf("maintain: read the tables' statistics: %w", err)
	}
	afterByKey := byKey(after, pgTable.key)
	for _, t := range before {
		key := t.key()
		a := afterByKey[key]
		row := Table{Name: key, Rows: t.live, Bytes: t.bytes, DeadRows: t.dead, DeadRatio: t.deadRatio(),
			FreeBytes: int64(float64(t.bytes) * t.deadRatio()), DeadRowsAfter: a.dead, BytesAfter: a.bytes,
			FreeBytesAfter: int64(float64(a.bytes) * a.deadRatio()), LastVacuum: nullTime(a.vacuumed),
			LastAnalyze: nullTime(a.analyzed), Action: "none"}
		if stepDone(r, "vacuum_analyze", key) {
			row.Action = "vacuum (analyze)"
		}
		r.Tables = append(r.Tables, row)
	}
	return runErr
}

// stepDone reports whether the report has step name on target done.
func stepDone(r *Report, name, target string) bool {
	for _, s := range r.Steps {
		if s.Name == name && s.Target == target {
			return s.Status == StatusDone
		}
	}
	return false
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
