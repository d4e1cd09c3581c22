package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/kura-dev/kura/sqldb"
)

// The MySQL queue's query text, and the scanning of its rows.

// jobColumns are the columns scanRow reads, in its order.
const jobColumns = `id, kind, queue, args, state, priority, attempt, max_attempts, errors,
	created_at, scheduled_at, attempted_at, attempted_by, finalized_at`

const (
	// mysqlInsert inserts a job: kind, queue, args, state, priority,
	// max_attempts, created_at, scheduled_at, unique_key.
	mysqlInsert = `INSERT INTO kura_jobs (kind, queue, args, state, priority, attempt, max_attempts, created_at, scheduled_at, unique_key)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`
	// mysqlInsertUnique makes an insert whose unique key exists do nothing.
	mysqlInsertUnique = ` ON DUPLICATE KEY UPDATE id = id`

	// mysqlFetch takes the ids of at most ? jobs due at ?, locking only
	// them: see the comment at the top of mysql.go.
	mysqlFetch = `SELECT id FROM kura_jobs FORCE INDEX (kura_jobs_fetch_idx)
		WHERE fetch_priority IS NOT NULL AND scheduled_at <= ?
		ORDER BY fetch_priority, scheduled_at, id
		LIMIT ? FOR UPDATE SKIP LOCKED`

	// mysqlComplete records a successful attempt: finalized_at, id,
	// attempt.
	mysqlComplete = `UPDATE kura_jobs SET state = 'completed', finalized_at = ?
		WHERE id = ? AND state = 'running' AND attempt = ?`
	// mysqlFail records a failed attempt: state, scheduled_at (NULL keeps
	// it), finalized_at, the errors to append (a JSON array), id, attempt.
	mysqlFail = `UPDATE kura_jobs SET state = ?, scheduled_at = COALESCE(?, scheduled_at), finalized_at = ?,
		errors = JSON_MERGE_PRESERVE(COALESCE(errors, JSON_ARRAY()), ?)
		WHERE id = ? AND state = 'running' AND attempt = ?`

	// mysqlRescue makes jobs whose attempt began before ? retryable, or
	// discarded when out of attempts. In MySQL's UPDATE an assignment
	// sees the columns assigned before it, so state is decided from
	// attempt and max_attempts, which it does not change. Parameters: the
	// error's time (RFC 3339) and message, finalized_at, scheduled_at, the
	// cut-off.
	mysqlRescue = `UPDATE kura_jobs SET
		errors = JSON_MERGE_PRESERVE(COALESCE(errors, JSON_ARRAY()),
			JSON_ARRAY(JSON_OBJECT('at', ?, 'attempt', attempt, 'error', ?))),
		finalized_at = IF(attempt >= max_attempts, ?, NULL),
		scheduled_at = IF(attempt >= max_attempts, scheduled_at, ?),
		state = IF(attempt >= max_attempts, 'discarded', 'retryable')
		WHERE state = 'running' AND attempted_at < ?`

	// mysqlRetry makes a job that is not running available: now, id.
	mysqlRetry = `UPDATE kura_jobs SET state = 'available', finalized_at = NULL,
		scheduled_at = LEAST(scheduled_at, ?), max_attempts = GREATEST(max_attempts, attempt + 1)
		WHERE id = ? AND state <> 'running'`
	// mysqlCancel cancels a job that has not finished: finalized_at, id.
	mysqlCancel = `UPDATE kura_jobs SET state = 'cancelled', finalized_at = ?
		WHERE id = ? AND state NOT IN ('completed', 'cancelled', 'discarded')`
)

// mysqlPrune deletes at most pruneBatch finished jobs: completed and
// cancelled ones finalized before the first parameter, discarded ones
// before the second.
var mysqlPrune = `DELETE FROM kura_jobs WHERE
	(state IN ('completed', 'cancelled') AND finalized_at < ?) OR
	(state = 'discarded' AND finalized_at < ?) LIMIT ` + strconv.Itoa(pruneBatch)

// rescueMessage is the error appended to a rescued job.
const rescueMessage = "job rescued: it ran longer than RescueAfter; its process may have died"

// getRow returns job id, or an ENOTFOUND error.
func getRow(ctx context.Context, q sqldb.Querier, id int64) (*Row, error) {
	rows, err := queryRows(ctx, q, "SELECT "+jobColumns+" FROM kura_jobs WHERE id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, notFound()
	}
	return rows[0], nil
}

// queryRows runs a query that selects jobColumns and scans its rows.
func queryRows(ctx context.Context, q sqldb.Querier, query string, args ...any) ([]*Row, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqldb.ScanAll(rows, scanRow)
}

// scanRow scans the jobColumns of one row.
func scanRow(s sqldb.Scanner) (*Row, error) {
	var (
		r                   Row
		args, errs          []byte
		state               string
		attempted, finished sql.NullTime
		by                  sql.NullString
	)
	err := s.Scan(&r.ID, &r.Kind, &r.Queue, &args, &state, &r.Priority, &r.Attempt, &r.MaxAttempts, &errs,
		&r.CreatedAt, &r.ScheduledAt, &attempted, &by, &finished)
	if err != nil {
		return nil, err
	}
	r.Args = json.RawMessage(args)
	r.State = State(state)
	r.AttemptedBy = by.String
	if attempted.Valid {
		t := attempted.Time
		r.AttemptedAt = &t
	}
	if finished.Valid {
		t := finished.Time
		r.FinalizedAt = &t
	}
	if len(errs) > 0 {
		if err := json.Unmarshal(errs, &r.Errors); err != nil {
			return nil, fmt.Errorf("job %d: decode errors: %w", r.ID, err)
		}
	}
	return &r, nil
}

// scanID scans a row of one id.
func scanID(s sqldb.Scanner) (int64, error) {
	var id int64
	err := s.Scan(&id)
	return id, err
}

// inList returns "?, ?, ..." for ids and the ids as parameters.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return sqldb.Placeholders(len(ids)), args
}
