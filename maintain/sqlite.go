package maintain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// runSQLite checks the file (quick_check, on a reader: it holds no write
// lock), then on the writer connection kura holds, so writers queue
// behind it in Go instead of meeting a lock: PRAGMA optimize, VACUUM when
// the free pages pass the threshold, and a TRUNCATE checkpoint, which
// gives the WAL file back to the file system. Each wait for a lock is
// bounded by BusyTimeout.
func runSQLite(ctx context.Context, db *sqldb.DB, opts Options, r *Report) error {
	f, err := sqliteFile(ctx, db.Reader())
	if err != nil {
		return fmt.Errorf("maintain: read the file's figures: %w", err)
	}
	r.SQLite = f
	free := f.FreePagesBefore * f.PageSize
	vacuum := f.PagesBefore > 0 && float64(f.FreePagesBefore)/float64(f.PagesBefore) >= opts.VacuumFreeRatio && free >= opts.VacuumMinFree
	damaged := false
	p := &plan{opts: opts, r: r}
	p.add("quick_check", "", func(ctx context.Context) (string, string, error) {
		problems, err := quickCheck(ctx, db.Reader())
		if err != nil {
			return "", "", err
		}
		if len(problems) > 0 {
			damaged = true
			return "", "", fmt.Errorf("the file is damaged: %s", strings.Join(problems, "; "))
		}
		return StatusDone, "ok", nil
	})
	p.add("optimize", "", func(ctx context.Context) (string, string, error) {
		if damaged || opts.ReportOnly {
			return skipped(damaged)
		}
		return writerStep(ctx, db, opts, "PRAGMA optimize", "statistics of the tables that need them refreshed")
	})
	p.add("vacuum", "", func(ctx context.Context) (string, string, error) {
		why := fmt.Sprintf("%d of %d pages free (%s)", f.FreePagesBefore, f.PagesBefore, bytesText(free))
		switch {
		case damaged || opts.ReportOnly:
			return skipped(damaged)
		case !vacuum:
			return StatusSkipped, why + fmt.Sprintf(": below the threshold (%.0f%% and %s)", 100*opts.VacuumFreeRatio, bytesText(opts.VacuumMinFree)), nil
		}
		return writerStep(ctx, db, opts, "VACUUM", why+": file rewritten")
	})
	p.add("wal_checkpoint", "", func(ctx context.Context) (string, string, error) {
		if damaged || opts.ReportOnly {
			return skipped(damaged)
		}
		return checkpoint(ctx, db, opts)
	})
	runErr := p.run(ctx)
	after, err := sqliteFile(ctx, db.Reader())
	if err != nil {
		return errors.Join(runErr, fmt.Errorf("maintain: read the file's figures: %w", err))
	}
	f.PagesAfter, f.FreePagesAfter, f.BytesAfter, f.WALBytesAfter = after.PagesBefore, after.FreePagesBefore, after.BytesBefore, after.WALBytesBefore
	return runErr
}

// skipped is the outcome of a step left out: report only, or a damaged
// file, which maintenance must not touch.
func skipped(damaged bool) (string, string, error) {
	if damaged {
		return StatusSkipped, "the file is damaged: restore it from a backup", nil
	}
	return StatusSkipped, "report only", nil
}

// sqliteFile reads the file's path, page figures and size on disk.
func sqliteFile(ctx context.Context, q *sql.DB) (*SQLiteFile, error) {
	f := &SQLiteFile{}
	var seq int
	var name string
	if err := q.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &f.Path); err != nil {
		return nil, err
	}
	for _, v := range []struct {
		pragma string
		dst    *int64
	}{{"page_size", &f.PageSize}, {"page_count", &f.PagesBefore}, {"freelist_count", &f.FreePagesBefore}} {
		if err := q.QueryRowContext(ctx, "PRAGMA "+v.pragma).Scan(v.dst); err != nil {
			return nil, fmt.Errorf("PRAGMA %s: %w", v.pragma, err)
		}
	}
	if st, err := os.Stat(f.Path); err == nil {
		f.BytesBefore = st.Size()
	}
	if st, err := os.Stat(f.Path + "-wal"); err == nil {
		f.WALBytesBefore = st.Size()
	}
	return f, nil
}

// quickCheck runs PRAGMA quick_check and returns the problems it lists
// (none when it answers "ok"). A file too damaged to read is an error of
// the query itself.
func quickCheck(ctx context.Context, q *sql.DB) ([]string, error) {
	rows, err := q.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	return problems, rows.Err()
}

// writerStep runs one statement on the writer connection (see onWriter)
// and reports detail when it succeeds.
func writerStep(ctx context.Context, db *sqldb.DB, opts Options, stmt, detail string) (string, string, error) {
	err := onWriter(ctx, db, opts, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, stmt)
		return err
	})
	if err != nil {
		return "", "", err
	}
	return StatusDone, detail, nil
}

// checkpoint runs wal_checkpoint(TRUNCATE). Readers still reading an older
// snapshot keep it from finishing: SQLite then answers busy, which is
// reported as busy, not as a failure; the next run finishes it.
func checkpoint(ctx context.Context, db *sqldb.DB, opts Options) (string, string, error) {
	var busy, logPages, done int
	err := onWriter(ctx, db, opts, func(c *sql.Conn) error {
		return c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done)
	})
	if err != nil {
		return "", "", err
	}
	if busy != 0 {
		return StatusBusy, fmt.Sprintf("readers held the WAL: %d of %d pages copied back; the next run finishes it", done, logPages), nil
	}
	return StatusDone, "WAL copied back and truncated", nil
}

// onWriter runs fn on the writer pool's one connection (sqldb's
// WithWriter: taken within DB_POOL_TIMEOUT, writers queueing behind it),
// with SQLite's busy_timeout set to BusyTimeout while fn runs and
// restored after.
func onWriter(ctx context.Context, db *sqldb.DB, opts Options, fn func(c *sql.Conn) error) error {
	return db.WithWriter(ctx, func(c *sql.Conn) error {
		var was int64
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&was); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", opts.BusyTimeout.Milliseconds())); err != nil {
			return err
		}
		defer c.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", was))
		return fn(c)
	})
}
