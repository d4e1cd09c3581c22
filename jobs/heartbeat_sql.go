package jobs

import (
	"fmt"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// The statements of the heartbeat table, kura_job_clients, and of the
// release of a dead client's jobs, on each engine. Every time a statement
// compares or writes in kura_job_clients is the database's own clock
// (PostgreSQL's now(), MySQL's UTC_TIMESTAMP(6), SQLite's 'now', which is
// the clock of the one machine every process sharing the file runs on),
// so hosts whose clocks disagree still agree on who is dead. The times a
// release writes in the job (the error's time, finalized_at) come from
// Config.Now, as the queue's other writes do.

// heartSQL are the statements of one engine. Parameters are named in each
// field's comment, in the order its args method takes them.
type heartSQL struct {
	// beat inserts or refreshes a client's row: see beatArgs.
	beat string
	// retire deletes a client's row: id.
	retire string
	// dead lists the clients past their expiry but one: id → id,
	// hostname, pid, seconds since seen.
	dead string
	// holder describes one client: id → hostname, pid, seconds since
	// seen, alive.
	holder string
	// forget deletes a dead client's row once it holds no running job:
	// id, id.
	forget string
	// releaseOf releases the running jobs of one dead client, and
	// releaseJob one job if its holder is dead: see release.
	releaseOf, releaseJob string
	// beatArgs are the parameters of beat: the client's id, hostname and
	// pid, and how long its beat lives.
	beatArgs func(id, host string, pid int, life time.Duration) []any
	// releaseArgs are the parameters of releaseOf and releaseJob: the
	// attempt's end, the error message, then the client's id or the job's.
	releaseArgs func(at time.Time, msg string, key any) []any
}

// interruptedMessage is the error a release records for the attempt it
// ends.
const interruptedMessage = "interrupted: the process running it stopped beating (it died, or lost the database); released to run again"

// clientsTable is the heartbeat table.
const clientsTable = "kura_job_clients"

func heartStatements(d sqldb.Dialect) heartSQL {
	switch d {
	case sqldb.Postgres:
		return postgresHeart
	case sqldb.MySQL:
		return mysqlHeart
	default:
		return sqliteHeart
	}
}

// A job's state after a release: cancelled if a cancellation was asked
// for while it ran (River records it in metadata and lets the holder end
// it), discarded if it has no attempt left, available otherwise. A
// released job keeps its scheduled_at, which is past: it runs again at
// once, in its old place.

var postgresHeart = heartSQL{
	beat: `INSERT INTO kura_job_clients (id, hostname, pid, started_at, seen_at, expires_at)
		VALUES ($1, $2, $3, now(), now(), now() + make_interval(secs => $4))
		ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at, expires_at = EXCLUDED.expires_at`,
	retire: `DELETE FROM kura_job_clients WHERE id = $1`,
	dead: `SELECT id, hostname, pid, EXTRACT(EPOCH FROM now() - seen_at)::float8
		FROM kura_job_clients WHERE expires_at < now() AND id <> $1`,
	holder: `SELECT hostname, pid, EXTRACT(EPOCH FROM now() - seen_at)::float8, expires_at >= now()
		FROM kura_job_clients WHERE id = $1`,
	forget: `DELETE FROM kura_job_clients WHERE id = $1 AND expires_at < now() AND NOT EXISTS (
		SELECT 1 FROM river_job WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $2)`,
	releaseOf:  postgresRelease("attempted_by[array_length(attempted_by, 1)] = $4"),
	releaseJob: postgresRelease("id = $4"),
	beatArgs: func(id, host string, pid int, life time.Duration) []any {
		return []any{id, host, pid, life.Seconds()}
	},
	releaseArgs: func(at time.Time, msg string, key any) []any {
		return []any{at.UTC(), at.UTC().Format(time.RFC3339Nano), msg, key}
	},
}

// postgresRelease releases running jobs whose holder is dead and that
// match filter. Parameters: finalized_at, the error's time, its message,
// the filter's.
func postgresRelease(filter string) string {
	const cancelAsked = `metadata->>'cancel_attempted_at' IS NOT NULL`
	return `UPDATE river_job SET
		state = (CASE WHEN ` + cancelAsked + ` THEN 'cancelled' WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END)::river_job_state,
		finalized_at = CASE WHEN ` + cancelAsked + ` OR attempt >= max_attempts THEN $1::timestamptz END,
		errors = array_append(errors, jsonb_build_object('at', $2::text, 'attempt', attempt, 'error', $3::text))
		WHERE state = 'running' AND ` + filter + `
		AND attempted_by[array_length(attempted_by, 1)] IN (SELECT id FROM kura_job_clients WHERE expires_at < now())`
}

// sqliteNow is the database's clock on SQLite in River's time format,
// with an optional modifier such as '+15.000 seconds'.
const (
	sqliteNow   = `strftime('%Y-%m-%d %H:%M:%f', 'now')`
	sqliteNowIn = `strftime('%Y-%m-%d %H:%M:%f', 'now', ?4)`
)

var sqliteHeart = heartSQL{
	beat: `INSERT INTO kura_job_clients (id, hostname, pid, started_at, seen_at, expires_at)
		VALUES (?1, ?2, ?3, ` + sqliteNow + `, ` + sqliteNow + `, ` + sqliteNowIn + `)
		ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, expires_at = excluded.expires_at`,
	retire: `DELETE FROM kura_job_clients WHERE id = ?1`,
	dead: `SELECT id, hostname, pid, (julianday('now') - julianday(seen_at)) * 86400.0
		FROM kura_job_clients WHERE expires_at < ` + sqliteNow + ` AND id <> ?1`,
	holder: `SELECT hostname, pid, (julianday('now') - julianday(seen_at)) * 86400.0, expires_at >= ` + sqliteNow + `
		FROM kura_job_clients WHERE id = ?1`,
	forget: `DELETE FROM kura_job_clients WHERE id = ?1 AND expires_at < ` + sqliteNow + ` AND NOT EXISTS (
		SELECT 1 FROM river_job WHERE state = 'running' AND attempted_by ->> '$[#-1]' = ?2)`,
	releaseOf:  sqliteRelease(`attempted_by ->> '$[#-1]' = ?4`),
	releaseJob: sqliteRelease("id = ?4"),
	beatArgs: func(id, host string, pid int, life time.Duration) []any {
		return []any{id, host, pid, fmt.Sprintf("+%.3f seconds", life.Seconds())}
	},
	releaseArgs: func(at time.Time, msg string, key any) []any {
		return []any{sqliteTime(at), at.UTC().Format(time.RFC3339Nano), msg, key}
	},
}

// sqliteRelease is postgresRelease on SQLite, where River keeps
// attempted_by, errors and metadata as JSONB.
func sqliteRelease(filter string) string {
	const cancelAsked = `json_extract(metadata, '$.cancel_attempted_at') IS NOT NULL`
	return `UPDATE river_job SET
		state = CASE WHEN ` + cancelAsked + ` THEN 'cancelled' WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
		finalized_at = CASE WHEN ` + cancelAsked + ` OR attempt >= max_attempts THEN ?1 END,
		errors = jsonb_insert(coalesce(errors, jsonb('[]')), '$[#]', json_object('at', ?2, 'attempt', attempt, 'error', ?3))
		WHERE state = 'running' AND ` + filter + `
		AND attempted_by ->> '$[#-1]' IN (SELECT id FROM kura_job_clients WHERE expires_at < ` + sqliteNow + `)`
}

var mysqlHeart = heartSQL{
	beat: `INSERT INTO kura_job_clients (id, hostname, pid, started_at, seen_at, expires_at)
		VALUES (?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)
		ON DUPLICATE KEY UPDATE seen_at = UTC_TIMESTAMP(6), expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND`,
	retire: `DELETE FROM kura_job_clients WHERE id = ?`,
	dead: `SELECT id, hostname, pid, TIMESTAMPDIFF(MICROSECOND, seen_at, UTC_TIMESTAMP(6)) / 1000000
		FROM kura_job_clients WHERE expires_at < UTC_TIMESTAMP(6) AND id <> ?`,
	holder: `SELECT hostname, pid, TIMESTAMPDIFF(MICROSECOND, seen_at, UTC_TIMESTAMP(6)) / 1000000, expires_at >= UTC_TIMESTAMP(6)
		FROM kura_job_clients WHERE id = ?`,
	forget: `DELETE FROM kura_job_clients WHERE id = ? AND expires_at < UTC_TIMESTAMP(6) AND NOT EXISTS (
		SELECT 1 FROM kura_jobs WHERE state = 'running' AND attempted_by = ?)`,
	releaseOf:  mysqlRelease("attempted_by = ?"),
	releaseJob: mysqlRelease("id = ?"),
	beatArgs: func(id, host string, pid int, life time.Duration) []any {
		return []any{id, host, pid, life.Microseconds(), life.Microseconds()}
	},
	releaseArgs: func(at time.Time, msg string, key any) []any {
		at = at.UTC().Truncate(time.Microsecond)
		return []any{at.Format(time.RFC3339Nano), msg, at, key}
	},
}

// mysqlRelease is postgresRelease on the MySQL queue, where a
// cancellation ends a running job at once. No assignment reads a column
// another one changes (see mysqlRescue). Parameters: the error's time and
// message, finalized_at, the filter's.
func mysqlRelease(filter string) string {
	return `UPDATE kura_jobs SET
		errors = JSON_MERGE_PRESERVE(COALESCE(errors, JSON_ARRAY()),
			JSON_ARRAY(JSON_OBJECT('at', ?, 'attempt', attempt, 'error', ?))),
		finalized_at = IF(attempt >= max_attempts, ?, NULL),
		state = IF(attempt >= max_attempts, 'discarded', 'available')
		WHERE state = 'running' AND ` + filter + `
		AND attempted_by IN (SELECT id FROM kura_job_clients WHERE expires_at < UTC_TIMESTAMP(6))`
}
