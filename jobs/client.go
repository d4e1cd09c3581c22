package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// DB is what a Client needs of a database: its engine and its pools
// (*sqldb.DB has them). On SQLite the writer is the single write
// connection and the reader a read-only pool; elsewhere both may be one
// pool. A client with workers on PostgreSQL also needs PgxPooler.
type DB interface {
	Dialect() sqldb.Dialect
	Writer() *sql.DB
	Reader() *sql.DB
}

// PgxPooler is the optional capability of a PostgreSQL DB that a client
// with workers needs, discovered by type assertion: a pgx pool of its own
// for River's workers, which wait for new jobs with LISTEN. The client
// opens it on Start and closes it on Stop.
type PgxPooler interface {
	PgxPool(maxConns int32) (*pgxpool.Pool, error)
}

var (
	_ DB        = (*sqldb.DB)(nil)
	_ PgxPooler = (*sqldb.DB)(nil)
)

// Client enqueues, works and manages the jobs of one database. It is safe
// for concurrent use.
type Client struct {
	cfg   Config
	log   *slog.Logger
	b     backend
	stats counters
	id    string  // the holder of the jobs this client's workers take
	cl    clients // the heartbeat table
	heart *heart  // nil: no workers

	mu      sync.Mutex
	started bool
}

// backend is an engine: River, or the MySQL queue. Row-returning methods
// return a *kura.Error with ENOTFOUND for a missing id.
type backend interface {
	insert(ctx context.Context, tx *sql.Tx, args Args, o EnqueueOpts) (*Row, error)
	start(ctx context.Context) error
	// stop waits for running jobs until ctx ends, then cancels them and
	// waits until they are handed back.
	stop(ctx context.Context) error
	get(ctx context.Context, id int64) (*Row, error)
	list(ctx context.Context, o ListOptions) ([]*Row, error)
	retry(ctx context.Context, id int64) (*Row, error)
	cancel(ctx context.Context, id int64) (*Row, error)
	prune(ctx context.Context, finishedBefore, discardedBefore time.Time) (int64, error)
	counts(ctx context.Context) (Counts, error)
	// oldestAvailable returns the scheduled time of the oldest job due to
	// run, or the zero time.
	oldestAvailable(ctx context.Context) (time.Time, error)
}

// engine is what New hands a backend.
type engine struct {
	cfg   Config
	db    DB
	log   *slog.Logger
	id    string           // the client's: the holder recorded in the jobs it takes
	units map[string]*unit // nil: enqueue and manage only
	run   runFunc
}

// New returns a client for db, whose schema Schema has created (see
// sqldb.DB.MigrateUp). It fills cfg's defaults (Config.WithDefaults) and
// refuses a config that Config.Validate refuses. It runs one query, which
// refuses a database without Schema's tables (ErrNoSchema) at once rather
// than at the first enqueue; its workers connect only on Start.
func New(db DB, cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Workers != nil {
		for k, u := range cfg.Workers.units {
			if u.timeout >= cfg.RescueAfter {
				return nil, fmt.Errorf("jobs: the kind %s's JobTimeout (%s) must be shorter than RescueAfter (%s)", k, u.timeout, cfg.RescueAfter)
			}
		}
	}
	if err := checkSchema(db); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: cfg.Logger, id: newClientID(), cl: newClients(db, cfg.Now)}
	e := engine{cfg: cfg, db: db, log: cfg.Logger, id: c.id}
	if cfg.Workers != nil {
		e.units = make(map[string]*unit, len(cfg.Workers.units)+1)
		for k, u := range cfg.Workers.units {
			e.units[k] = u
		}
		if cfg.PruneInterval > 0 {
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[pruneArgs](func(ctx context.Context, _ *Job[pruneArgs]) error {
				_, err := c.Prune(ctx)
				return err
			}))
			e.units[pruneArgs{}.Kind()] = ws.units[pruneArgs{}.Kind()]
			e.cfg.Periodic = append(e.cfg.Periodic[:len(e.cfg.Periodic):len(e.cfg.Periodic)],
				PeriodicJob{Every: cfg.PruneInterval, Args: func() Args { return pruneArgs{} }, RunOnStart: true})
		}
		e.run = func(ctx context.Context, u *unit, row *Row) error {
			return run(ctx, c.log, &c.stats, c.cfg.OnAttempt, u, row)
		}
	}
	var err error
	switch db.Dialect() {
	case sqldb.MySQL:
		c.b, err = newMySQL(e)
	default:
		c.b, err = newRiver(e)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Workers != nil {
		c.heart = &heart{cl: c.cl, id: c.id, every: cfg.Heartbeat, log: c.log, released: c.wake}
	}
	return c, nil
}

// wake tells this client's workers that jobs may be due now, where the
// engine has a way to (the MySQL queue's fetch loop); elsewhere they find
// them within PollInterval.
func (c *Client) wake() {
	if w, ok := c.b.(interface{ wake() }); ok {
		w.wake()
	}
}

// ID returns the client's id: the holder its workers record in the jobs
// they take (Row.AttemptedBy), and the key of its heartbeat (Holder).
func (c *Client) ID() string { return c.id }

// pruneArgs is the built-in job that deletes finished jobs past their
// retention. Deleting what is already deleted is a no-op, so it is safe
// to retry.
type pruneArgs struct{}

func (pruneArgs) Kind() string { return "jobs.prune" }

// Enqueue inserts a job in a transaction of its own and returns its row.
func (c *Client) Enqueue(ctx context.Context, args Args, opts *EnqueueOpts) (*Row, error) {
	return c.EnqueueTx(ctx, nil, args, opts)
}

// Tx is the transaction a job is enqueued in: the *sqldb.Tx that
// sqldb.DB.InTx hands its function, or a *sql.Tx of the DB's writer.
type Tx interface {
	Commit() error
	Rollback() error
}

var (
	_ Tx = (*sqldb.Tx)(nil)
	_ Tx = (*sql.Tx)(nil)
)

// sqlTx returns the *sql.Tx of tx; nil for none.
func sqlTx(tx Tx) (*sql.Tx, error) {
	switch t := tx.(type) {
	case nil:
		return nil, nil
	case *sql.Tx:
		return t, nil
	case *sqldb.Tx:
		if t == nil {
			return nil, nil
		}
		return t.Tx, nil
	}
	return nil, fmt.Errorf("jobs: a transaction to enqueue in is a *sqldb.Tx or a *sql.Tx, not %T", tx)
}

// EnqueueTx inserts a job in the caller's transaction tx (on SQLite, a
// transaction of the DB's writer): it exists, and is seen by workers, if
// and only if tx commits. A nil tx enqueues in a transaction of its own.
func (c *Client) EnqueueTx(ctx context.Context, tx Tx, args Args, opts *EnqueueOpts) (*Row, error) {
	stx, err := sqlTx(tx)
	if err != nil {
		return nil, err
	}
	var o EnqueueOpts
	if opts != nil {
		o = *opts
	}
	if args == nil || args.Kind() == "" {
		return nil, kura.Errorf(kura.EINVALID, "A job needs args with a kind.")
	}
	if o.MaxAttempts < 0 || o.Priority < 0 || o.Priority > 4 {
		return nil, kura.Errorf(kura.EINVALID, "A job's max attempts must not be negative and its priority must be 1 to 4.")
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = c.cfg.MaxAttempts
	}
	if o.Priority == 0 {
		o.Priority = 1
	}
	row, err := c.b.insert(ctx, stx, args, o)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return row, nil
}

// Start starts the workers (and the periodic jobs) of a client made with
// Workers; it returns once they run. The workers stop when Stop is called.
// From Start to Stop the client beats in the database every
// Config.Heartbeat and releases the running jobs of clients that stopped
// beating (see Config.Heartbeat).
func (c *Client) Start(ctx context.Context) error {
	if c.cfg.Workers == nil {
		return errors.New("jobs: start: the client has no workers")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("jobs: start: already started")
	}
	// The heartbeat runs before the workers take a job, and while they
	// start, which may take longer than it lives.
	if err := c.heart.first(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	c.heart.start(ctx)
	if err := c.b.start(ctx); err != nil {
		c.heart.halt()
		c.heart.retire(ctx)
		return fmt.Errorf("start job workers: %w", err)
	}
	c.started = true
	return nil
}

// Stop stops taking jobs and waits for the running ones to finish until
// ctx ends; then it cancels their contexts and waits for them to be handed
// back (retryable, to run again), so no job is left running. Then it
// deletes its heartbeat; if a job did not come back, it leaves the
// heartbeat to expire, and other clients release the job 3 heartbeats
// later. Stopping a client that is not started does nothing.
func (c *Client) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return nil
	}
	c.started = false
	err := c.b.stop(ctx)
	c.heart.halt()
	if err != nil {
		return fmt.Errorf("stop job workers: %w; other processes release them once this one's heartbeat has expired (%s)", err, c.heart.life())
	}
	c.heart.retire(ctx)
	return nil
}

// Get returns one job. Errors: ENOTFOUND.
func (c *Client) Get(ctx context.Context, id int64) (*Row, error) {
	return c.b.get(ctx, id)
}

// List returns jobs newest first.
func (c *Client) List(ctx context.Context, o ListOptions) ([]*Row, error) {
	if o.Limit == 0 {
		o.Limit = DefaultListLimit
	}
	if o.Limit < 0 || o.Limit > MaxListLimit {
		return nil, kura.FieldError(kura.EINVALID, "limit", fmt.Sprintf("must be between 1 and %d", MaxListLimit))
	}
	rows, err := c.b.list(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return rows, nil
}

// Retry makes a job that is not running available to run now: a discarded
// or cancelled one is given one more attempt if it has none left. A
// running job whose process has stopped beating is released first (its
// attempt recorded as interrupted), as the other processes would within
// seconds. Errors: ENOTFOUND; ECONFLICT for a job running on a live
// process, or on one whose heartbeat is unknown (it is rescued after
// RescueAfter), the message saying which.
func (c *Client) Retry(ctx context.Context, id int64) (*Row, error) {
	if err := c.release(ctx, id); err != nil {
		return nil, fmt.Errorf("retry job %d: %w", id, err)
	}
	row, err := c.b.retry(ctx, id)
	if err != nil {
		return nil, err
	}
	if row.State == StateRunning {
		return nil, c.runningErr(ctx, row)
	}
	return row, nil
}

// Cancel cancels a job that has not finished: it will not run (again). A
// running job is asked to stop: the context of its attempt is cancelled
// (at once in this process; elsewhere when that process hears of it: at
// once on PostgreSQL, within PollInterval on MySQL), the attempt counts as
// no failure, and the job ends cancelled; until then River returns it
// running. A running job whose process has stopped beating is released
// first, and cancelled at once. Errors: ENOTFOUND; ECONFLICT for a job
// that has finished (completed, cancelled or discarded).
func (c *Client) Cancel(ctx context.Context, id int64) (*Row, error) {
	if err := c.release(ctx, id); err != nil {
		return nil, fmt.Errorf("cancel job %d: %w", id, err)
	}
	row, err := c.b.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if row.finished() {
		return nil, finishedErr(row)
	}
	if row, err = c.b.cancel(ctx, id); err != nil {
		return nil, err
	}
	if row.State == StateCompleted || row.State == StateDiscarded { // it ended meanwhile
		return nil, finishedErr(row)
	}
	return row, nil
}

// finishedErr is the ECONFLICT error of cancelling a finished job.
func finishedErr(row *Row) error {
	return kura.Errorf(kura.ECONFLICT, "Job %d (%s) has finished: it is %s; there is nothing to cancel.", row.ID, row.Kind, row.State)
}

// release releases job id if it is running and its holder has stopped
// beating.
func (c *Client) release(ctx context.Context, id int64) error {
	ok, err := c.cl.releaseJob(ctx, id)
	if err != nil {
		return fmt.Errorf("release it from a process that stopped beating: %w", err)
	}
	if ok {
		c.log.Warn("jobs: released a job of a process that stopped beating", "job_id", id)
		c.wake()
	}
	return nil
}

// runningErr is the ECONFLICT error of a job that cannot change while it
// runs, naming its holder.
func (c *Client) runningErr(ctx context.Context, row *Row) error {
	prefix := fmt.Sprintf("Job %d (%s) is running", row.ID, row.Kind)
	h, err := c.Holder(ctx, row.AttemptedBy)
	switch {
	case err == nil && h.Alive:
		return kura.Errorf(kura.ECONFLICT, "%s on %s: it cannot be retried while it runs; cancel it, or let it end.", prefix, h)
	case err == nil:
		return kura.Errorf(kura.ECONFLICT, "%s on %s, which has stopped beating: it is being released; try again in a moment.", prefix, h)
	case kura.ErrorCode(err) != kura.ENOTFOUND:
		return fmt.Errorf("retry job %d: %w", row.ID, err)
	}
	when := ""
	if row.AttemptedAt != nil {
		when = ", at " + row.AttemptedAt.Add(c.cfg.RescueAfter).UTC().Format(time.DateTime) + " UTC"
	}
	return kura.Errorf(kura.ECONFLICT, "%s, taken by a process that left no heartbeat (one of a version before heartbeats, say), which may still run it: "+
		"it cannot be retried before it is rescued, once it has run for %s%s.", prefix, c.cfg.RescueAfter, when)
}

// Holder returns the client with workers whose id is id, such as a
// running job's Row.AttemptedBy, as its heartbeat shows it. Errors:
// ENOTFOUND when it has no heartbeat: it stopped cleanly, it has been
// dead long enough for its jobs to be released, or it ran a version
// without heartbeats.
func (c *Client) Holder(ctx context.Context, id string) (*Holder, error) {
	return c.cl.holder(ctx, id)
}

// Prune deletes completed and cancelled jobs older than Retention and
// discarded ones older than DiscardedRetention, and returns how many.
func (c *Client) Prune(ctx context.Context) (int64, error) {
	now := c.cfg.Now()
	n, err := c.b.prune(ctx, now.Add(-c.cfg.Retention), now.Add(-c.cfg.DiscardedRetention))
	if err != nil {
		return n, fmt.Errorf("prune jobs: %w", err)
	}
	if n > 0 {
		c.log.Info("finished jobs pruned", "deleted", n)
	}
	return n, nil
}

// Counts returns the number of jobs in each state.
func (c *Client) Counts(ctx context.Context) (Counts, error) {
	counts, err := c.b.counts(ctx)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return counts, nil
}

// Stats returns what this client's workers have done.
func (c *Client) Stats() Stats { return c.stats.stats() }

// notFound is the error of a missing job.
func notFound() error { return kura.Errorf(kura.ENOTFOUND, "Job not found.") }
