package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The MySQL/MariaDB queue: one table, kura_jobs (Schema), and these loops
// while a client with workers runs (mysql_run.go):
//
//   - fetch: when slots are free, on every PollInterval tick, on a wake-up
//     by an insert of this client and when a job ends after a full batch,
//     one READ COMMITTED transaction takes the due jobs with SELECT ... FOR
//     UPDATE SKIP LOCKED, marks them running (attempt+1) and reads them
//     back; each then runs in a goroutine of its own. SKIP LOCKED is what
//     keeps two processes from taking one job: a row locked by another
//     fetch is passed over, not waited for. The SELECT walks the index
//     kura_jobs_fetch_idx on fetch_priority (the priority of a job that may
//     run, NULL otherwise) in the order of the ORDER BY, so it stops, and
//     locks, after the LIMIT rows; READ COMMITTED keeps it from locking
//     gaps (which would hold up inserts) and the rows it passed over.
//     Only the client that inserts a job wakes its own fetch loop; other
//     clients, in this process or another, find the job within their
//     PollInterval.
//   - rescue: running jobs whose attempt began more than RescueAfter ago
//     belong to a worker that ignored its deadline, or to a holder that
//     left no heartbeat (attempted_by names none in kura_job_clients);
//     they are made retryable, or discarded when out of attempts, with an
//     error saying so. Idempotent: every process runs it. The jobs of a
//     process whose heartbeat stopped are released long before, by the
//     heartbeat loop all engines share (heartbeat.go).
//   - periodic: one loop per periodic job inserts the job of each period
//     with a unique key naming the period, so however many processes run
//     it the period gets one job.
//
// Every write that ends an attempt is guarded by WHERE state = 'running'
// AND attempt = ?: a job cancelled, or rescued and taken again, while the
// attempt ran is left as it is. Listing, retrying, cancelling and pruning
// are in mysql_manage.go, the query text in mysql_sql.go.
//
// Time: every timestamp, "now" included, is the application's clock
// (Config.Now) in UTC, truncated to microseconds (the columns are
// DATETIME(6)), never the server's NOW(): the processes sharing a database
// are assumed to keep their clocks in sync (NTP), as they must for session
// expiry anyway. A skew of a few milliseconds only delays or advances a
// scheduled job by as much. Whether a process is alive is the exception:
// heartbeats are written and judged with the server's clock.

// mysqlFetchTimeout bounds one fetch transaction; mysqlWriteWait bounds
// the writes that record an attempt's end, retries included.
const (
	mysqlFetchTimeout = 30 * time.Second
	mysqlWriteWait    = 4 * time.Second // < hardStopWait
	mysqlWriteTries   = 5
)

type mysqlBackend struct {
	engine

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
	wake     chan struct{} // an insert by this client
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
	return &mysqlBackend{engine: e, running: map[int64]*mysqlAttempt{}}, nil
}

// now is the queue's clock: see the comment at the top of the file.
func (b *mysqlBackend) now() time.Time { return b.cfg.Now().UTC().Truncate(time.Microsecond) }

// wake tells this client's fetch loop, if it runs, that a job may be due
// now, so it need not wait for its next poll.
func (b *mysqlBackend) wake() {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r != nil {
		signal(r.wake)
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
	// A job inserted in the caller's transaction is not there to take
	// until it commits: the next poll finds it.
	if tx == nil && row.State == StateAvailable {
		b.wake()
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
	q := mysqlInsert
	var key any
	if uniqueKey != "" {
		key = uniqueKey
		q += mysqlInsertUnique
	}
	// JSON goes as a string: MySQL refuses JSON text of the binary charset.
	params := []any{row.Kind, row.Queue, string(enc), string(row.State), row.Priority, row.MaxAttempts, row.CreatedAt, row.ScheduledAt, key}
	return row, q, params, nil
}

func (b *mysqlBackend) start(ctx context.Context) error {
	var one int
	err := b.db.Reader().QueryRowContext(ctx, "SELECT 1 FROM kura_jobs LIMIT 1").Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("the job table (jobs.Schema): %w", err)
	}
	// As with River, ending ctx stops the workers hard: no more fetches,
	// and the running jobs' contexts end.
	r := &mysqlRun{b: b, wake: make(chan struct{}, 1), freed: make(chan struct{}, 1)}
	r.ctx, r.hardStop = context.WithCancel(ctx)
	r.loopCtx, r.endLoops = context.WithCancel(r.ctx)
	b.mu.Lock()
	b.cur = r
	b.mu.Unlock()

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
	return fmt.Errorf("%d jobs did not return within %s of their contexts ending", n, hardStopWait)
}
