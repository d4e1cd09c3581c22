package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// The MySQL/MariaDB queue: one table, kura_jobs (migration 3), and these
// loops while a client with workers runs:
//
//   - fetch: when slots are free, on every PollInterval tick, on a wake-up
//     by an insert in this process and when a job ends after a full batch,
//     one READ COMMITTED transaction takes the due jobs with SELECT ... FOR
//     UPDATE SKIP LOCKED, marks them running (attempt+1) and reads them
//     back; each then runs in a goroutine of its own. SKIP LOCKED is what
//     keeps two processes from taking one job: a row locked by another
//     fetch is passed over, not waited for. The SELECT walks the index
//     kura_jobs_fetch_idx on fetch_priority (the priority of a job that may
//     run, NULL otherwise) in the order of the ORDER BY, so it stops, and
//     locks, after the LIMIT rows; READ COMMITTED keeps it from locking
//     gaps (which would hold up inserts) and the rows it passed over.
//   - rescue: running jobs whose attempt began more than RescueAfter ago
//     belong to a process that died (or to a worker that ignored its
//     deadline); they are made retryable, or discarded when out of
//     attempts, with an error saying so. Idempotent: every process runs it.
//   - periodic: one loop per periodic job inserts the job of each period
//     with a unique key naming the period, so however many processes run
//     it the period gets one job.
//
// Every write that ends an attempt is guarded by WHERE state = 'running'
// AND attempt = ?: a job cancelled, or rescued and taken again, while the
// attempt ran is left as it is.
//
// Time: every timestamp, "now" included, is the application's clock in
// UTC, truncated to microseconds (the columns are DATETIME(6)), never the
// server's NOW(): the processes sharing a database are assumed to keep
// their clocks in sync (NTP), as they must for session expiry anyway. A
// skew of a few milliseconds only delays or advances a scheduled job by as
// much.

// mysqlFetchTimeout bounds one fetch transaction; mysqlWriteWait bounds
// the writes that record an attempt's end, retries included.
const (
	mysqlFetchTimeout = 30 * time.Second
	mysqlWriteWait    = 4 * time.Second // < hardStopWait
	mysqlWriteTries   = 5
)

// jobColumns are the columns scanRow reads, in its order.
const jobColumns = `id, kind, queue, args, state, priority, attempt, max_attempts, errors,
	created_at, scheduled_at, attempted_at, finalized_at`

// rescueMessage is the error appended to a rescued job.
const rescueMessage = "job rescued: it ran longer than RescueAfter; its process may have died"

type mysqlBackend struct {
	engine
	id string // attempted_by: this client

	mu      sync.Mutex
	cur     *mysqlRun               // the current run, nil when stopped
	running map[int64]*mysqlAttempt // attempts of this client, by job id
}

// mysqlRun is one start-to-stop of the workers. A new start makes a new
// one, so a job left over from a stop that timed out never mixes with it.
type mysqlRun struct {
	b        *mysqlBackend
	ctx      context.Context // the parent of the jobs' contexts; done on hard stop
	hardStop context.CancelFunc
	loopCtx  context.Context // the loops'; done on stop
	endLoops context.CancelFunc
	loops    sync.WaitGroup
	jobs     sync.WaitGroup
	wake     chan struct{} // an insert in this process
	freed    chan struct{} // a job ended
	inflight int           // jobs of this run still running; under b.mu
}

// mysqlAttempt is an attempt this client runs.
type mysqlAttempt struct {
	run     *mysqlRun
	attempt int
	cancel  context.CancelFunc
}

func newMySQL(e engine) (backend, error) {
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	id := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(suffix))
	if len(id) > 255 {
		id = id[len(id)-255:]
	}
	return &mysqlBackend{engine: e, id: id, running: map[int64]*mysqlAttempt{}}, nil
}

// now is the queue's clock: see the comment at the top of the file.
func (b *mysqlBackend) now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// wakers are the fetch loops running in this process, by database, so an
// insert by any client of the same DB wakes them at once instead of at
// their next poll.
var wakers = struct {
	sync.Mutex
	m map[*sqldb.DB]map[chan struct{}]struct{}
}{m: map[*sqldb.DB]map[chan struct{}]struct{}{}}

func addWaker(db *sqldb.DB, ch chan struct{}) {
	wakers.Lock()
	defer wakers.Unlock()
	if wakers.m[db] == nil {
		wakers.m[db] = map[chan struct{}]struct{}{}
	}
	wakers.m[db][ch] = struct{}{}
}

func removeWaker(db *sqldb.DB, ch chan struct{}) {
	wakers.Lock()
	defer wakers.Unlock()
	delete(wakers.m[db], ch)
	if len(wakers.m[db]) == 0 {
		delete(wakers.m, db)
	}
}

func wakeAll(db *sqldb.DB) {
	wakers.Lock()
	defer wakers.Unlock()
	for ch := range wakers.m[db] {
		signal(ch)
	}
}

// signal sends on a channel of capacity 1 without blocking: a wake-up
// already pending is enough.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (b *mysqlBackend) insert(ctx context.Context, tx *sql.Tx, args Args, o EnqueueOpts) (*Row, error) {
	row, q, params, err := b.insertQuery(args, o, "")
	if err != nil {
		return nil, err
	}
	var res sql.Result
	if tx != nil {
		res, err = tx.ExecContext(ctx, q, params...)
	} else {
		res, err = b.db.Writer().ExecContext(ctx, q, params...)
	}
	if err != nil {
		return nil, err
	}
	if row.ID, err = res.LastInsertId(); err != nil {
		return nil, err
	}
	if tx == nil && row.State == StateAvailable {
		wakeAll(b.db)
	}
	return row, nil
}

// insertQuery returns the row, query and parameters that insert a job; a
// non-empty uniqueKey makes a second insert with the same key do nothing.
func (b *mysqlBackend) insertQuery(args Args, o EnqueueOpts, uniqueKey string) (*Row, string, []any, error) {
	enc, err := json.Marshal(args)
	if err != nil {
		return nil, "", nil, fmt.Errorf("encode args: %w", err)
	}
	now := b.now()
	row := &Row{
		Kind:        args.Kind(),
		Args:        enc,
		State:       StateAvailable,
		MaxAttempts: o.MaxAttempts,
		Priority:    o.Priority,
		Queue:       "default",
		CreatedAt:   now,
		ScheduledAt: now,
	}
	if !o.ScheduledAt.IsZero() {
		row.ScheduledAt = o.ScheduledAt.UTC().Truncate(time.Microsecond)
		if row.ScheduledAt.After(now) {
			row.State = StateScheduled
		}
	}
	q := `INSERT INTO kura_jobs (kind, queue, args, state, priority, attempt, max_attempts, created_at, scheduled_at, unique_key)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`
	var key any
	if uniqueKey != "" {
		key = uniqueKey
		q += ` ON DUPLICATE KEY UPDATE id = id`
	}
	// JSON goes as a string: MySQL refuses JSON text of the binary charset.
	params := []any{row.Kind, row.Queue, string(enc), string(row.State), row.Priority, row.MaxAttempts, row.CreatedAt, row.ScheduledAt, key}
	return row, q, params, nil
}

func (b *mysqlBackend) start(ctx context.Context) error {
	var one int
	err := b.db.Reader().QueryRowContext(ctx, "SELECT 1 FROM kura_jobs LIMIT 1").Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("the job table (migration 3): %w", err)
	}
	// As with River, ending ctx stops the workers hard: no more fetches,
	// and the running jobs' contexts end.
	r := &mysqlRun{b: b, wake: make(chan struct{}, 1), freed: make(chan struct{}, 1)}
	r.ctx, r.hardStop = context.WithCancel(ctx)
	r.loopCtx, r.endLoops = context.WithCancel(r.ctx)
	b.mu.Lock()
	b.cur = r
	b.mu.Unlock()
	addWaker(b.db, r.wake)

	r.goLoop(r.fetchLoop)
	r.goLoop(r.rescueLoop)
	for _, p := range b.cfg.Periodic {
		r.goLoop(func() { r.periodicLoop(p) })
	}
	return nil
}

func (r *mysqlRun) goLoop(f func()) {
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		f()
	}()
}

func (b *mysqlBackend) stop(ctx context.Context) error {
	b.mu.Lock()
	r := b.cur
	b.cur = nil
	b.mu.Unlock()
	if r == nil {
		return nil
	}
	removeWaker(b.db, r.wake)
	r.endLoops()
	r.loops.Wait() // a fetch under way finishes and starts its jobs first

	done := make(chan struct{})
	go func() {
		r.jobs.Wait()
		close(done)
	}()
	select {
	case <-done:
		r.hardStop()
		return nil
	case <-ctx.Done():
	}
	// Out of time: cancel the running jobs and wait for their attempts
	// to be recorded, which hands them back (retryable).
	r.hardStop()
	t := time.NewTimer(hardStopWait)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	}
	b.mu.Lock()
	n := r.inflight
	b.mu.Unlock()
	return fmt.Errorf("%d jobs did not return within %s of their contexts ending; they will be rescued after RescueAfter", n, hardStopWait)
}

// fetchLoop takes due jobs while slots are free. pending means there may
// be due jobs it has not taken: set by a tick or a wake-up, cleared when a
// fetch finds fewer than it asked for.
func (r *mysqlRun) fetchLoop() {
	b := r.b
	tick := time.NewTicker(b.cfg.PollInterval)
	defer tick.Stop()
	pending := true
	for {
		if pending {
			if free := r.free(); free > 0 {
				n, err := r.fetch(free)
				if err != nil {
					if r.loopCtx.Err() != nil {
						return
					}
					b.log.Warn("jobs: fetch failed; trying again at the next poll", "err", err)
					pending = false
				} else {
					pending = n == free
				}
			}
		}
		var freed chan struct{}
		if pending {
			freed = r.freed // full: take more as soon as a slot frees
		}
		select {
		case <-r.loopCtx.Done():
			return
		case <-tick.C:
			pending = true
			r.checkCancelled()
		case <-r.wake:
			pending = true
		case <-freed:
		}
	}
}

func (r *mysqlRun) free() int {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.b.cfg.Concurrency - r.inflight
}

// fetch takes at most n due jobs, marks them running and starts them. It
// runs on a context detached from the stop: a fetch that took jobs always
// hands them to workers.
func (r *mysqlRun) fetch(n int) (int, error) {
	b := r.b
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.loopCtx), mysqlFetchTimeout)
	defer cancel()
	var rows []*Row
	err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
		now := b.now()
		ids, err := queryIDs(ctx, tx, `SELECT id FROM kura_jobs FORCE INDEX (kura_jobs_fetch_idx)
			WHERE fetch_priority IS NOT NULL AND scheduled_at <= ?
			ORDER BY fetch_priority, scheduled_at, id
			LIMIT ? FOR UPDATE SKIP LOCKED`, now, n)
		if err != nil || len(ids) == 0 {
			return err
		}
		in, args := inList(ids)
		_, err = tx.ExecContext(ctx, `UPDATE kura_jobs SET state = 'running', attempt = attempt + 1,
			attempted_at = ?, attempted_by = ? WHERE id IN (`+in+`)`, append([]any{now, b.id}, args...)...)
		if err != nil {
			return err
		}
		rows, err = queryRows(ctx, tx, `SELECT `+jobColumns+` FROM kura_jobs WHERE id IN (`+in+`)
			ORDER BY priority, scheduled_at, id`, args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, row := range rows {
		r.launch(row)
	}
	return len(rows), nil
}

// launch runs one attempt in a goroutine of its own.
func (r *mysqlRun) launch(row *Row) {
	b := r.b
	cctx, cancelCause := context.WithCancelCause(r.ctx)
	ctx, cancel := context.WithTimeout(cctx, b.cfg.JobTimeout)
	a := &mysqlAttempt{run: r, attempt: row.Attempt, cancel: func() { cancelCause(errJobCancelled) }}
	b.mu.Lock()
	b.running[row.ID] = a
	r.inflight++
	b.mu.Unlock()
	r.jobs.Add(1)
	go func() {
		defer r.jobs.Done()
		u := b.units[row.Kind]
		if u == nil {
			kind := row.Kind
			u = &unit{kind: kind, work: func(context.Context, *Row) error {
				return fmt.Errorf("no worker for job kind %s", kind)
			}}
		}
		err := b.run(ctx, u, row)
		cancel()
		cancelCause(nil)
		b.finish(r.ctx, row, err)
		b.mu.Lock()
		if b.running[row.ID] == a {
			delete(b.running, row.ID)
		}
		r.inflight--
		b.mu.Unlock()
		signal(r.freed)
	}()
}

// finish records the end of an attempt: completed, or the error appended
// and the job retryable after its backoff (discarded after its last
// attempt). The write is retried a few times; if it still fails the job
// stays running and the rescuer retries it after RescueAfter.
func (b *mysqlBackend) finish(parent context.Context, row *Row, err error) {
	now := b.now()
	var q string
	var args []any
	if err == nil {
		q = `UPDATE kura_jobs SET state = 'completed', finalized_at = ? WHERE id = ? AND state = 'running' AND attempt = ?`
		args = []any{now, row.ID, row.Attempt}
	} else {
		ae := AttemptError{At: now, Attempt: row.Attempt, Error: err.Error()}
		if pe, ok := errors.AsType[*PanicError](err); ok {
			ae.Trace = pe.Stack
		}
		enc, jerr := json.Marshal([]AttemptError{ae})
		if jerr != nil {
			b.log.Error("jobs: encode an attempt's error", "job_id", row.ID, "err", jerr)
			return
		}
		state, scheduled, finalized := StateRetryable, any(nil), any(nil)
		if row.Attempt >= row.MaxAttempts {
			state, finalized = StateDiscarded, now
		} else {
			scheduled = now.Add(b.cfg.Backoff(row.Attempt)).Truncate(time.Microsecond)
		}
		q = `UPDATE kura_jobs SET state = ?, scheduled_at = COALESCE(?, scheduled_at), finalized_at = ?,
			errors = JSON_MERGE_PRESERVE(COALESCE(errors, JSON_ARRAY()), ?)
			WHERE id = ? AND state = 'running' AND attempt = ?`
		args = []any{string(state), scheduled, finalized, string(enc), row.ID, row.Attempt}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), mysqlWriteWait)
	defer cancel()
	wait := 50 * time.Millisecond
	for try := 1; ; try++ {
		_, werr := b.db.Writer().ExecContext(ctx, q, args...)
		if werr == nil {
			// No row matched: the job was cancelled or rescued meanwhile,
			// and is left as that made it.
			return
		}
		if try == mysqlWriteTries || ctx.Err() != nil {
			b.log.Error("jobs: could not record the end of an attempt; the job will be rescued after RescueAfter",
				"job_id", row.ID, "kind", row.Kind, "attempt", row.Attempt, "err", werr)
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait *= 2
	}
}

// checkCancelled cancels the contexts of the attempts this run is working
// whose jobs another process cancelled.
func (r *mysqlRun) checkCancelled() {
	b := r.b
	b.mu.Lock()
	var ids []int64
	for id, a := range b.running {
		if a.run == r {
			ids = append(ids, id)
		}
	}
	b.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	in, args := inList(ids)
	rows, err := b.db.Reader().QueryContext(r.loopCtx,
		`SELECT id, attempt FROM kura_jobs WHERE id IN (`+in+`) AND state = 'cancelled'`, args...)
	if err != nil {
		if r.loopCtx.Err() == nil {
			b.log.Warn("jobs: check for cancelled jobs", "err", err)
		}
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var attempt int
		if err := rows.Scan(&id, &attempt); err != nil {
			return
		}
		b.cancelAttempt(id, attempt)
	}
}

// cancelAttempt ends the context of the attempt of job id this client
// runs, if any (attempt 0: whichever).
func (b *mysqlBackend) cancelAttempt(id int64, attempt int) {
	b.mu.Lock()
	a := b.running[id]
	b.mu.Unlock()
	if a != nil && (attempt == 0 || a.attempt == attempt) {
		a.cancel()
	}
}

// rescueInterval is how often the rescuer looks: a quarter of RescueAfter
// between 100ms and a minute.
func (b *mysqlBackend) rescueInterval() time.Duration {
	return min(max(b.cfg.RescueAfter/4, 100*time.Millisecond), time.Minute)
}

func (r *mysqlRun) rescueLoop() {
	b := r.b
	tick := time.NewTicker(b.rescueInterval())
	defer tick.Stop()
	for {
		if n, err := b.rescue(r.loopCtx); err != nil {
			if r.loopCtx.Err() != nil {
				return
			}
			b.log.Warn("jobs: rescue failed", "err", err)
		} else if n > 0 {
			b.log.Warn("jobs: rescued jobs that ran longer than RescueAfter", "jobs", n, "rescue_after", b.cfg.RescueAfter)
		}
		select {
		case <-r.loopCtx.Done():
			return
		case <-tick.C:
		}
	}
}

// rescue makes the jobs running for longer than RescueAfter retryable now,
// or discarded when out of attempts, and returns how many. In MySQL's
// UPDATE an assignment sees the columns assigned before it, so state is
// decided from attempt and max_attempts, which it does not change.
func (b *mysqlBackend) rescue(ctx context.Context) (int64, error) {
	now := b.now()
	var n int64
	err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE kura_jobs SET
			errors = JSON_MERGE_PRESERVE(COALESCE(errors, JSON_ARRAY()),
				JSON_ARRAY(JSON_OBJECT('at', ?, 'attempt', attempt, 'error', ?))),
			finalized_at = IF(attempt >= max_attempts, ?, NULL),
			scheduled_at = IF(attempt >= max_attempts, scheduled_at, ?),
			state = IF(attempt >= max_attempts, 'discarded', 'retryable')
			WHERE state = 'running' AND attempted_at < ?`,
			now.Format(time.RFC3339Nano), rescueMessage, now, now, now.Add(-b.cfg.RescueAfter))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// periodicLoop enqueues p's job once per period: the period is now
// truncated to Every, and its start names the job's unique key, so every
// process enqueueing the same period inserts one job. A failed insert is
// tried again at the next poll while its period lasts.
func (r *mysqlRun) periodicLoop(p PeriodicJob) {
	b := r.b
	period := b.now().Truncate(p.Every)
	owed := p.RunOnStart
	for {
		if owed {
			if err := b.enqueuePeriodic(r.loopCtx, p, period); err != nil {
				if r.loopCtx.Err() != nil {
					return
				}
				b.log.Warn("jobs: enqueue a periodic job", "err", err)
			} else {
				owed = false
			}
		}
		wait := time.Until(period.Add(p.Every))
		if owed {
			wait = min(wait, b.cfg.PollInterval)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-r.loopCtx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if next := b.now().Truncate(p.Every); next.After(period) {
			period, owed = next, true
		}
	}
}

func (b *mysqlBackend) enqueuePeriodic(ctx context.Context, p PeriodicJob, period time.Time) error {
	args := p.Args()
	if args == nil || args.Kind() == "" {
		return errors.New("periodic job args without a kind")
	}
	_, q, params, err := b.insertQuery(args, EnqueueOpts{MaxAttempts: b.cfg.MaxAttempts, Priority: 1}, args.Kind()+":"+periodKey(period))
	if err != nil {
		return err
	}
	if _, err := b.db.Writer().ExecContext(ctx, q, params...); err != nil {
		return fmt.Errorf("%s: %w", args.Kind(), err)
	}
	wakeAll(b.db)
	return nil
}

// periodKey is a period's start in Unix seconds, with a fraction for
// periods shorter than a second.
func periodKey(t time.Time) string {
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return s
}

func (b *mysqlBackend) get(ctx context.Context, id int64) (*Row, error) {
	return getRow(ctx, b.db.Reader(), id)
}

func (b *mysqlBackend) list(ctx context.Context, o ListOptions) ([]*Row, error) {
	var where []string
	var args []any
	if len(o.States) > 0 {
		states := make([]any, len(o.States))
		for i, s := range o.States {
			states[i] = string(s)
		}
		where = append(where, "state IN ("+placeholders(len(states))+")")
		args = append(args, states...)
	}
	if len(o.Kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(o.Kinds))+")")
		for _, k := range o.Kinds {
			args = append(args, k)
		}
	}
	q := "SELECT " + jobColumns + " FROM kura_jobs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	return queryRows(ctx, b.db.Reader(), q, append(args, o.Limit)...)
}

// retry makes a job that is not running available now (a scheduled_at
// already past is kept, so it keeps its place), with one more attempt if
// it has none left.
func (b *mysqlBackend) retry(ctx context.Context, id int64) (*Row, error) {
	now := b.now()
	var row *Row
	err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE kura_jobs SET state = 'available', finalized_at = NULL,
			scheduled_at = LEAST(scheduled_at, ?), max_attempts = GREATEST(max_attempts, attempt + 1)
			WHERE id = ? AND state <> 'running'`, now, id)
		if err != nil {
			return err
		}
		row, err = getRow(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if row.State == StateAvailable {
		wakeAll(b.db)
	}
	return row, nil
}

// cancel cancels a job that has not finished. A running one is cancelled
// at once in the table, so its attempt's end is not recorded over it; its
// context ends now if this client runs it, and at the next poll if another
// client of this process or another process does.
func (b *mysqlBackend) cancel(ctx context.Context, id int64) (*Row, error) {
	now := b.now()
	var row *Row
	err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE kura_jobs SET state = 'cancelled', finalized_at = ?
			WHERE id = ? AND state NOT IN ('completed', 'cancelled', 'discarded')`, now, id)
		if err != nil {
			return err
		}
		row, err = getRow(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if row.State == StateCancelled {
		b.cancelAttempt(id, row.Attempt)
	}
	return row, nil
}

func (b *mysqlBackend) prune(ctx context.Context, finishedBefore, discardedBefore time.Time) (int64, error) {
	q := `DELETE FROM kura_jobs WHERE
		(state IN ('completed', 'cancelled') AND finalized_at < ?) OR
		(state = 'discarded' AND finalized_at < ?) LIMIT ` + strconv.Itoa(pruneBatch)
	fin, dis := finishedBefore.UTC(), discardedBefore.UTC()
	var total int64
	for {
		var n int64
		err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, q, fin, dis)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

func (b *mysqlBackend) counts(ctx context.Context) (Counts, error) {
	return countStates(ctx, b.db, "kura_jobs")
}

// readCommittedTx runs fn in a READ COMMITTED transaction on the writer:
// its locking statements lock the rows they change, not the gaps and rows
// they passed over (REPEATABLE READ, the default, would).
func (b *mysqlBackend) readCommittedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := b.db.Writer().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getRow(ctx context.Context, q querier, id int64) (*Row, error) {
	rows, err := queryRows(ctx, q, "SELECT "+jobColumns+" FROM kura_jobs WHERE id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, notFound()
	}
	return rows[0], nil
}

func queryRows(ctx context.Context, q querier, query string, args ...any) ([]*Row, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRow(rows *sql.Rows) (*Row, error) {
	var (
		r                   Row
		args, errs          []byte
		state               string
		attempted, finished sql.NullTime
	)
	err := rows.Scan(&r.ID, &r.Kind, &r.Queue, &args, &state, &r.Priority, &r.Attempt, &r.MaxAttempts, &errs,
		&r.CreatedAt, &r.ScheduledAt, &attempted, &finished)
	if err != nil {
		return nil, err
	}
	r.Args = json.RawMessage(args)
	r.State = State(state)
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

func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// inList returns "?, ?, ..." for ids and the ids as parameters.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return placeholders(len(ids)), args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
