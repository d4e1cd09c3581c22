package backup

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// keepRuns is how many rows of backup_runs Record keeps.
const keepRuns = 500

// Run is the recorded outcome of one backup.
type Run struct {
	ID       int64
	Name     string // the backup's name; "" when it failed before it had one
	Started  time.Time
	Ended    time.Time
	OK       bool
	Bytes    int64
	Duration float64 // seconds
	Problem  string  // why it failed, when it did
	Verified *Check  // the last verify's outcome, if any
}

// Status is what the run log says of backups: the last run, the last
// successful one and the last verified one (nil when there is none), and
// how many successful backups were taken since the last verify.
type Status struct {
	Last         *Run
	LastSuccess  *Run
	LastVerified *Run
	SinceVerify  int
}

// Overdue says whether the last successful backup is older than twice
// interval (none at all counts as overdue once the first is due), at now.
func (s Status) Overdue(interval time.Duration, now time.Time) bool {
	if interval <= 0 {
		return false
	}
	if s.LastSuccess == nil {
		return s.Last != nil // a failed first backup; none tried yet is not overdue
	}
	return now.Sub(s.LastSuccess.Ended) > 2*interval
}

// Record adds a backup's outcome to the run log, the table backup_runs of
// kura's migration 5, which every instance's /health, doctor and metrics
// read, wherever the backup ran (m is nil when the backup failed) and trims the log to its last 500 rows.
func Record(ctx context.Context, db *sqldb.DB, started time.Time, m *Manifest, failure error) error {
	r := Run{Started: started.UTC(), Ended: db.Timestamp(), OK: failure == nil}
	if m != nil {
		r.Name, r.Started, r.Ended, r.Bytes, r.Duration = m.Name, m.Started, m.Ended, m.Size, m.Duration
	}
	if failure != nil {
		r.Problem = truncate(failure.Error(), 2000)
		r.Duration = r.Ended.Sub(r.Started).Seconds()
	}
	return db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO backup_runs (name, started_at, ended_at, ok, bytes, duration, problem)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, r.Name, r.Started, r.Ended, r.OK, r.Bytes, r.Duration, r.Problem)
		if err != nil {
			return fmt.Errorf("record backup: %w", err)
		}
		var maxID int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM backup_runs`).Scan(&maxID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM backup_runs WHERE id <= ?`, maxID-keepRuns)
		return err
	})
}

// RecordVerify records the outcome of a verify of the backup called name.
func RecordVerify(ctx context.Context, db *sqldb.DB, name string, c *Check) error {
	_, err := db.Writer().ExecContext(ctx, db.Rebind(`UPDATE backup_runs SET verified_at = ?, verified_ok = ? WHERE name = ?`),
		db.TimeArg(c.At), c.OK, name)
	if err != nil {
		return fmt.Errorf("record verify: %w", err)
	}
	return nil
}

const runColumns = `id, name, started_at, ended_at, ok, bytes, duration, problem, verified_at, verified_ok`

// ReadStatus reads the run log.
func ReadStatus(ctx context.Context, db *sqldb.DB) (Status, error) {
	var s Status
	var err error
	one := func(where string) (*Run, error) {
		rows, err := db.Reader().QueryContext(ctx, `SELECT `+runColumns+` FROM backup_runs `+where+` ORDER BY id DESC LIMIT 1`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		if !rows.Next() {
			return nil, rows.Err()
		}
		return scanRun(rows)
	}
	if s.Last, err = one(""); err != nil {
		return s, fmt.Errorf("read backup status: %w", err)
	}
	if s.LastSuccess, err = one("WHERE ok = " + sqlTrue(db)); err != nil {
		return s, fmt.Errorf("read backup status: %w", err)
	}
	if s.LastVerified, err = one("WHERE verified_ok = " + sqlTrue(db)); err != nil {
		return s, fmt.Errorf("read backup status: %w", err)
	}
	q := `SELECT COUNT(*) FROM backup_runs WHERE ok = ` + sqlTrue(db)
	if s.LastVerified != nil {
		q += fmt.Sprintf(" AND id > %d", s.LastVerified.ID)
	}
	if err := db.Reader().QueryRowContext(ctx, q).Scan(&s.SinceVerify); err != nil {
		return s, fmt.Errorf("read backup status: %w", err)
	}
	return s, nil
}

func sqlTrue(db *sqldb.DB) string {
	if db.Dialect() == sqldb.SQLite {
		return "1"
	}
	return "TRUE"
}

func scanRun(rows *sql.Rows) (*Run, error) {
	var r Run
	var verifiedAt sql.Null[time.Time]
	var vAt time.Time
	var verifiedOK sql.NullBool
	if err := rows.Scan(&r.ID, &r.Name, sqldb.Time(&r.Started), sqldb.Time(&r.Ended), &r.OK, &r.Bytes, &r.Duration, &r.Problem,
		nullTime{&vAt, &verifiedAt.Valid}, &verifiedOK); err != nil {
		return nil, err
	}
	if verifiedAt.Valid && verifiedOK.Valid {
		r.Verified = &Check{At: vAt, OK: verifiedOK.Bool}
	}
	return &r, nil
}

// nullTime scans a nullable timestamp with sqldb.Time.
type nullTime struct {
	t     *time.Time
	valid *bool
}

func (n nullTime) Scan(v any) error {
	if v == nil {
		*n.valid = false
		return nil
	}
	*n.valid = true
	return sqldb.Time(n.t).Scan(v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
