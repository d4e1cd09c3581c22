package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// What a metrics endpoint reads of the queue besides Counts and Stats: each
// attempt as it ends (Config.OnAttempt) and the oldest job waiting to run
// (Client.OldestAvailable).

// Outcome is how an attempt ended.
type Outcome string

// The outcomes of an attempt.
const (
	OutcomeCompleted Outcome = "completed" // Work returned nil
	OutcomeFailed    Outcome = "failed"    // an error, a panic or the deadline; the job will be retried
	OutcomeDiscarded Outcome = "discarded" // failed its last attempt; the job is dead
	OutcomeCancelled Outcome = "cancelled" // the job was cancelled while it ran: no failure
)

// Attempt is one finished attempt of a job, as Config.OnAttempt sees it.
type Attempt struct {
	Kind     string
	Duration time.Duration // from the worker's start to its return
	Outcome  Outcome
	Panicked bool // the attempt panicked (Outcome is failed or discarded)
}

// OldestAvailable returns the scheduled time of the oldest job that is
// waiting to run now (available; on MySQL also a scheduled or retryable
// job whose time has come), or the zero time when none is. It reads the
// head of the fetch index for each priority, so it costs the same however
// long the queue is.
func (c *Client) OldestAvailable(ctx context.Context) (time.Time, error) {
	t, err := c.b.oldestAvailable(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("oldest available job: %w", err)
	}
	return t, nil
}

// oldestQuery returns the query of the earliest scheduled_at among the
// rows that where selects, for each priority from 1 to 4: a MIN that each
// engine answers from the head of an index on (..., priority,
// scheduled_at), instead of reading every waiting job.
func oldestQuery(table, where string) string {
	parts := make([]string, 4)
	for p := range parts {
		parts[p] = fmt.Sprintf("SELECT MIN(scheduled_at) AS t FROM %s WHERE %s%d", table, where, p+1)
	}
	return "SELECT MIN(t) FROM (" + strings.Join(parts, " UNION ALL ") + ") AS heads"
}

// riverOldest reads river_job_prioritized_fetching_index, on (state,
// queue, priority, scheduled_at, id); kura's jobs are all in the default
// queue.
var riverOldest = oldestQuery("river_job", "state = 'available' AND queue = 'default' AND priority = ")

// mysqlOldest reads kura_jobs_fetch_idx, on (fetch_priority,
// scheduled_at, id), which holds only the jobs waiting to run.
var mysqlOldest = oldestQuery("kura_jobs", "fetch_priority = ")

func (b *riverBackend) oldestAvailable(ctx context.Context) (time.Time, error) {
	row := b.db.Reader().QueryRowContext(ctx, riverOldest)
	if b.db.Dialect() != sqldb.SQLite {
		var t sql.NullTime
		err := row.Scan(&t)
		return t.Time, err
	}
	// SQLite's MIN of a text column is text: River writes its times as
	// "2006-01-02 15:04:05.000" in UTC.
	var s sql.NullString
	if err := row.Scan(&s); err != nil || !s.Valid {
		return time.Time{}, err
	}
	return parseSQLiteTime(s.String)
}

// parseSQLiteTime parses a time River's SQLite driver wrote.
func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("scheduled_at %q is not a time", s)
}

func (b *mysqlBackend) oldestAvailable(ctx context.Context) (time.Time, error) {
	var t sql.NullTime
	if err := b.db.Reader().QueryRowContext(ctx, mysqlOldest).Scan(&t); err != nil {
		return time.Time{}, err
	}
	if !t.Valid || t.Time.After(b.now()) {
		return time.Time{}, nil // nothing waiting, or nothing due yet
	}
	return t.Time, nil
}
