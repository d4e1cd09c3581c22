package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/kura-dev/kura/sqldb"
)

// riverPoolSize is the pgx pool of River's workers on PostgreSQL: one
// connection listens for new jobs, the others fetch, complete and run the
// leader's maintenance. Job handlers use the DB's own pool.
const riverPoolSize = 4

// riverFetchCooldown is the least time between two fetches of a busy
// worker pool. River's default, 100ms, caps a pool of Concurrency workers
// at 10×Concurrency quick jobs a second (100 with the default 10); 10ms
// lifts that cap to 1000 and costs nothing when the queue is idle.
const riverFetchCooldown = 10 * time.Millisecond

// riverBackend runs jobs on River. admin is a database/sql client on the
// DB's writer pool: it inserts in the caller's *sql.Tx, and lists, retries
// and cancels. On SQLite it also works the jobs (one client on the single
// writer connection, polling); on PostgreSQL a riverpgxv5 client on a small
// pgx pool of its own works them, woken by LISTEN/NOTIFY, so job machinery
// never waits for a request's connection. That pool and its client are
// made by each start and closed by its stop, so a client that is never
// started holds no pool, and one started again gets a fresh one.
type riverBackend struct {
	engine
	admin  *river.Client[*sql.Tx]
	work   riverWorking // nil: not working (PostgreSQL: until started)
	pooler PgxPooler    // PostgreSQL with workers: opens the workers' pool
	pool   *pgxpool.Pool
}

// riverWorking is the part of a River client that works jobs.
type riverWorking interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

func newRiver(e engine) (*riverBackend, error) {
	b := &riverBackend{engine: e}
	working := e.units != nil
	var err error
	switch e.db.Dialect() {
	case sqldb.SQLite:
		b.admin, err = river.NewClient(riversqlite.New(e.db.Writer()), e.riverConfig(working))
		if working {
			b.work = b.admin
		}
	case sqldb.Postgres:
		b.admin, err = river.NewClient(riverdatabasesql.New(e.db.Writer()), e.riverConfig(false))
		if err == nil && working {
			p, ok := e.db.(PgxPooler)
			if !ok {
				return nil, fmt.Errorf("jobs: a client with workers on PostgreSQL needs a DB with the method "+
					"PgxPool(maxConns int32) (*pgxpool.Pool, error), as *sqldb.DB has; %T has none", e.db)
			}
			b.pooler = p
			// The workers' client is made by start, on a pool of its
			// own; its configuration is checked now, on the DB's pool.
			_, err = river.NewClient(riverdatabasesql.New(e.db.Writer()), e.riverConfig(true))
		}
	default:
		return nil, fmt.Errorf("jobs: no River driver for %s", e.db.Dialect())
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return b, nil
}

// riverConfig is the River configuration of a client; a working one gets
// the workers, the queue and the periodic jobs. River's own job cleaner is
// off: the prune job does its work on every engine alike. So is its
// reindexer (see below).
func (e engine) riverConfig(working bool) *river.Config {
	rc := &river.Config{
		Logger:                      slog.New(warnOnly{e.log.Handler()}),
		MaxAttempts:                 e.cfg.MaxAttempts,
		JobTimeout:                  e.cfg.JobTimeout,
		RescueStuckJobsAfter:        e.cfg.RescueAfter,
		RetryPolicy:                 retryPolicy{backoff: e.cfg.Backoff, now: e.cfg.Now},
		CompletedJobRetentionPeriod: -1,
		CancelledJobRetentionPeriod: -1,
		DiscardedJobRetentionPeriod: -1,
		FetchPollInterval:           e.cfg.PollInterval,
		FetchCooldown:               min(riverFetchCooldown, e.cfg.PollInterval),
		// River's nightly REINDEX needs the tables' owner, which the
		// application role of a least-privilege set-up (kura db roles) is
		// not: an empty list turns it off. Index upkeep belongs with the
		// migration role.
		ReindexerIndexNames: []string{},
	}
	if !working {
		return rc
	}
	// The holder River records in attempted_by: the client's heartbeat.
	rc.ID = e.id
	rw := river.NewWorkers()
	for _, u := range e.units {
		u.addRiver(rw, e.run)
	}
	rc.Workers = rw
	rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: e.cfg.Concurrency}}
	for _, p := range e.cfg.Periodic {
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(
			river.PeriodicInterval(p.Every),
			func() (river.JobArgs, *river.InsertOpts) { return p.Args(), nil },
			&river.PeriodicJobOpts{RunOnStart: p.RunOnStart},
		))
	}
	return rc
}

// riverWorker is a registered kind as River sees it.
type riverWorker[A Args] struct {
	river.WorkerDefaults[A]
	run  runFunc
	unit *unit
}

func (w *riverWorker[A]) Work(ctx context.Context, j *river.Job[A]) error {
	return w.run(ctx, w.unit, fromRiver(j.JobRow))
}

// Timeout is the kind's own attempt deadline; 0 leaves River's default,
// Config.JobTimeout.
func (w *riverWorker[A]) Timeout(*river.Job[A]) time.Duration { return w.unit.timeout }

// retryPolicy schedules River's retries with Config.Backoff.
type retryPolicy struct {
	backoff func(int) time.Duration
	now     func() time.Time
}

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return p.now().Add(p.backoff(job.Attempt))
}

// warnOnly passes River's warnings and errors to the application's logger
// and drops its routine information.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }
func (h warnOnly) WithGroup(n string) slog.Handler       { return warnOnly{h.Handler.WithGroup(n)} }

func (b *riverBackend) insert(ctx context.Context, tx *sql.Tx, args Args, o EnqueueOpts) (*Row, error) {
	io := &river.InsertOpts{MaxAttempts: o.MaxAttempts, Priority: o.Priority, ScheduledAt: o.ScheduledAt}
	var res *rivertype.JobInsertResult
	var err error
	if tx != nil {
		res, err = b.admin.InsertTx(ctx, tx, args, io)
	} else {
		res, err = b.admin.Insert(ctx, args, io)
	}
	if err != nil {
		return nil, err
	}
	return fromRiver(res.Job), nil
}

func (b *riverBackend) start(ctx context.Context) error {
	if b.pooler == nil {
		return b.work.Start(ctx)
	}
	pool, err := b.pooler.PgxPool(riverPoolSize)
	if err != nil {
		return err
	}
	work, err := river.NewClient(riverpgxv5.New(pool), b.riverConfig(true))
	if err == nil {
		err = work.Start(ctx)
	}
	if err != nil {
		pool.Close()
		return err
	}
	b.work, b.pool = work, pool
	return nil
}

func (b *riverBackend) stop(ctx context.Context) error {
	err := b.work.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		// Out of time: cancel the running jobs and wait for River to
		// record them as retryable.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopWait)
		defer cancel()
		err = b.work.StopAndCancel(hctx)
	}
	if b.pool != nil {
		b.pool.Close()
		b.work, b.pool = nil, nil
	}
	return err
}

// hardStopWait bounds the wait for cancelled jobs to be handed back once
// the stop deadline has passed.
const hardStopWait = 5 * time.Second

func (b *riverBackend) get(ctx context.Context, id int64) (*Row, error) {
	j, err := b.admin.JobGet(ctx, id)
	return b.row(j, err)
}

func (b *riverBackend) retry(ctx context.Context, id int64) (*Row, error) {
	j, err := b.admin.JobRetry(ctx, id)
	return b.row(j, err)
}

func (b *riverBackend) cancel(ctx context.Context, id int64) (*Row, error) {
	j, err := b.admin.JobCancel(ctx, id)
	return b.row(j, err)
}

func (b *riverBackend) row(j *rivertype.JobRow, err error) (*Row, error) {
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil, notFound()
	}
	if err != nil {
		return nil, err
	}
	return fromRiver(j), nil
}

func (b *riverBackend) list(ctx context.Context, o ListOptions) ([]*Row, error) {
	p := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(o.Limit)
	if len(o.States) > 0 {
		states := make([]rivertype.JobState, len(o.States))
		for i, s := range o.States {
			states[i] = rivertype.JobState(s)
		}
		p = p.States(states...)
	}
	if len(o.Kinds) > 0 {
		p = p.Kinds(o.Kinds...)
	}
	res, err := b.admin.JobList(ctx, p)
	if err != nil {
		return nil, err
	}
	rows := make([]*Row, len(res.Jobs))
	for i, j := range res.Jobs {
		rows[i] = fromRiver(j)
	}
	return rows, nil
}

// pruneBatch bounds one DELETE, so pruning a large backlog never holds
// the (SQLite: the only) write lock for long.
const pruneBatch = 1000

func (b *riverBackend) prune(ctx context.Context, finishedBefore, discardedBefore time.Time) (int64, error) {
	// River stores SQLite times as text in one exact format.
	var fin, dis any = finishedBefore.UTC(), discardedBefore.UTC()
	p1, p2 := "$1", "$2"
	if b.db.Dialect() == sqldb.SQLite {
		fin, dis = sqliteTime(finishedBefore), sqliteTime(discardedBefore)
		p1, p2 = "?1", "?2"
	}
	q := `DELETE FROM river_job WHERE id IN (SELECT id FROM river_job WHERE
		(state IN ('completed', 'cancelled') AND finalized_at < ` + p1 + `) OR
		(state = 'discarded' AND finalized_at < ` + p2 + `) LIMIT ` + fmt.Sprint(pruneBatch) + `)`
	var total int64
	for {
		res, err := b.db.Writer().ExecContext(ctx, q, fin, dis)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

func sqliteTime(t time.Time) string {
	return t.UTC().Round(time.Millisecond).Format("2006-01-02 15:04:05.000")
}

func (b *riverBackend) counts(ctx context.Context) (Counts, error) {
	return countStates(ctx, b.db, "river_job")
}

// countStates counts the jobs of table in each state, on the reader pool.
func countStates(ctx context.Context, db DB, table string) (Counts, error) {
	rows, err := db.Reader().QueryContext(ctx, countQuery(table))
	if err != nil {
		return nil, err
	}
	type count struct {
		state State
		n     int64
	}
	all, err := sqldb.ScanAll(rows, func(s sqldb.Scanner) (count, error) {
		var c count
		err := s.Scan(&c.state, &c.n)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	c := make(Counts, len(all))
	for _, n := range all {
		c[n.state] = n.n
	}
	return c, nil
}

func fromRiver(j *rivertype.JobRow) *Row {
	r := &Row{
		ID:          j.ID,
		Kind:        j.Kind,
		Args:        j.EncodedArgs,
		State:       State(j.State),
		Attempt:     j.Attempt,
		MaxAttempts: j.MaxAttempts,
		Priority:    j.Priority,
		Queue:       j.Queue,
		CreatedAt:   j.CreatedAt,
		ScheduledAt: j.ScheduledAt,
		AttemptedAt: j.AttemptedAt,
		FinalizedAt: j.FinalizedAt,
	}
	if n := len(j.AttemptedBy); n > 0 {
		r.AttemptedBy = j.AttemptedBy[n-1]
	}
	for _, e := range j.Errors {
		r.Errors = append(r.Errors, AttemptError{At: e.At, Attempt: e.Attempt, Error: e.Error, Trace: e.Trace})
	}
	return r
}
