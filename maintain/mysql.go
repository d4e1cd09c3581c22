package maintain

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// myTables lists the base tables of the current database with their size
// and free space (data_free: space inside the tablespace that no row
// uses).
const myTables = `
	SELECT table_name, COALESCE(engine, ''), COALESCE(table_rows, 0), COALESCE(data_length, 0) + COALESCE(index_length, 0), COALESCE(data_free, 0)
	FROM information_schema.tables
	WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
	ORDER BY table_name`

type myTable struct {
	name, engine string
	rows         int64
	bytes, free  int64
}

func myReadTables(ctx context.Context, db *sqldb.DB) ([]myTable, error) {
	rows, err := db.Reader().QueryContext(ctx, myTables)
	if err != nil {
		return nil, err
	}
	return sqldb.ScanAll(rows, func(s sqldb.Scanner) (myTable, error) {
		var t myTable
		err := s.Scan(&t.name, &t.engine, &t.rows, &t.bytes, &t.free)
		return t, err
	})
}

// freeRatio is the share of the table's space that is free.
func (t myTable) freeRatio() float64 {
	if t.bytes+t.free == 0 {
		return 0
	}
	return float64(t.free) / float64(t.bytes+t.free)
}

// runMySQL runs ANALYZE TABLE on every table (InnoDB samples a few pages
// to refresh the optimizer's statistics: cheap), and OPTIMIZE TABLE on
// the tables whose free space passes the thresholds: on InnoDB a rebuild
// (ALTER TABLE ... FORCE) that lets reads and writes go on, with short
// metadata locks at its start and end. lock_wait_timeout bounds the wait
// for those locks, so a long transaction on the table makes the step fail
// instead of queueing the app's queries behind it.
func runMySQL(ctx context.Context, db *sqldb.DB, opts Options, r *Report) error {
	before, err := myReadTables(ctx, db)
	if err != nil {
		return fmt.Errorf("maintain: read the tables' sizes: %w", err)
	}
	p := &plan{opts: opts, r: r}
	for _, t := range before {
		name := t.name
		p.add("analyze", name, func(ctx context.Context) (string, string, error) {
			if opts.ReportOnly {
				return skipped(false)
			}
			return myAdmin(ctx, db, opts, "ANALYZE TABLE", name)
		})
		p.add("optimize_table", name, func(ctx context.Context) (string, string, error) {
			why := fmt.Sprintf("%s free of %s (%.0f%%)", bytesText(t.free), bytesText(t.bytes+t.free), 100*t.freeRatio())
			switch {
			case opts.ReportOnly:
				return skipped(false)
			case t.free < opts.FragmentMin || t.freeRatio() < opts.FragmentRatio:
				return StatusSkipped, why + fmt.Sprintf(": below the threshold (%.0f%% and %s)", 100*opts.FragmentRatio, bytesText(opts.FragmentMin)), nil
			}
			status, detail, err := myAdmin(ctx, db, opts, "OPTIMIZE TABLE", name)
			return status, why + ": " + detail, err
		})
	}
	runErr := p.run(ctx)
	after, err := myReadTables(ctx, db)
	if err != nil {
		return fmt.Errorf("maintain: read the tables' sizes: %w", err)
	}
	afterByName := byKey(after, func(t myTable) string { return t.name })
	for _, t := range before {
		name, a := t.name, afterByName[t.name]
		row := Table{Name: name, Rows: t.rows, Bytes: t.bytes, FreeBytes: t.free, BytesAfter: a.bytes, FreeBytesAfter: a.free, Action: "none"}
		switch {
		case stepDone(r, "optimize_table", name):
			row.Action = "optimize"
		case stepDone(r, "analyze", name):
			row.Action = "analyze"
		}
		r.Tables = append(r.Tables, row)
	}
	return runErr
}

// myAdmin runs an ANALYZE or OPTIMIZE TABLE statement on one table. They
// answer with rows (Table, Op, Msg_type, Msg_text) rather than an error;
// a row of type error is the step's failure.
func myAdmin(ctx context.Context, db *sqldb.DB, opts Options, stmt, table string) (string, string, error) {
	var msgs []string
	err := db.WithWriter(ctx, func(c *sql.Conn) error {
		secs := max(1, int64(opts.BusyTimeout.Seconds()))
		if _, err := c.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
			return err
		}
		defer c.ExecContext(context.WithoutCancel(ctx), "SET SESSION lock_wait_timeout = DEFAULT")
		rows, err := c.QueryContext(ctx, stmt+" "+myIdent(table))
		if err != nil {
			return err
		}
		defer rows.Close()
		var failed []string
		for rows.Next() {
			var tbl, op, typ, text string
			if err := rows.Scan(&tbl, &op, &typ, &text); err != nil {
				return err
			}
			if strings.EqualFold(typ, "error") {
				failed = append(failed, text)
			}
			msgs = append(msgs, text)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(failed) > 0 {
			return fmt.Errorf("%s", strings.Join(failed, "; "))
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return StatusDone, strings.Join(msgs, "; "), nil
}

// myIdent quotes a MySQL identifier.
func myIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
