package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// Defaults applied by New.
const (
	DefaultConcurrency        = 10
	DefaultMaxAttempts        = 25
	DefaultJobTimeout         = time.Minute
	DefaultRescueAfter        = time.Hour
	DefaultPollInterval       = time.Second
	DefaultRetention          = 24 * time.Hour
	DefaultDiscardedRetention = 7 * 24 * time.Hour
	DefaultPruneInterval      = time.Hour
	DefaultListLimit          = 100
	MaxListLimit              = 10000
)

// Config configures a Client. The zero Config makes a client that enqueues
// and manages jobs but works none.
type Config struct {
	// Workers, if set, are the kinds this client works once started. Nil
	// makes a client that only enqueues and manages jobs (a web process
	// whose jobs run in a separate worker process, or an operator's CLI).
	Workers *Workers

	// Concurrency is how many jobs are worked at once. Default 10.
	Concurrency int

	// Periodic jobs are enqueued on a fixed interval while a client with
	// workers runs; across several processes each period's job is enqueued
	// once.
	Periodic []PeriodicJob

	// MaxAttempts is a job's number of attempts, the first included,
	// unless its EnqueueOpts say otherwise. Default 25.
	MaxAttempts int

	// JobTimeout bounds one attempt: its ctx ends then. Default 1 minute.
	JobTimeout time.Duration

	// RescueAfter is how long a job may stay running before it is taken
	// to belong to a process that died, and is retried (or discarded when
	// out of attempts). It must exceed JobTimeout. Default 1 hour.
	RescueAfter time.Duration

	// PollInterval is how often idle workers look for due jobs that they
	// were not told about (scheduled and retried jobs, jobs enqueued by
	// another process without a notification). Default 1 second.
	PollInterval time.Duration

	// Backoff is the wait after failed attempt n before attempt n+1.
	// Default DefaultBackoff.
	Backoff func(attempt int) time.Duration

	// Retention is how long completed and cancelled jobs are kept;
	// DiscardedRetention how long discarded (dead) ones are. Defaults 24
	// hours and 7 days. The prune job deletes older ones every
	// PruneInterval (default 1 hour) while a client with workers runs;
	// a negative PruneInterval turns it off.
	Retention          time.Duration
	DiscardedRetention time.Duration
	PruneInterval      time.Duration

	// Logger receives failed attempts and the engine's warnings. Default
	// slog.Default().
	Logger *slog.Logger
}

// PeriodicJob is a job enqueued every Every. Args is called for each one.
// With RunOnStart one is also enqueued when the workers start.
type PeriodicJob struct {
	Every      time.Duration
	Args       func() Args
	RunOnStart bool
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = DefaultRescueAfter
		if c.JobTimeout >= DefaultRescueAfter {
			c.RescueAfter = c.JobTimeout + DefaultRescueAfter
		}
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.DiscardedRetention <= 0 {
		c.DiscardedRetention = DefaultDiscardedRetention
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = DefaultPruneInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.RescueAfter <= c.JobTimeout {
		return fmt.Errorf("jobs: RescueAfter (%s) must exceed JobTimeout (%s)", c.RescueAfter, c.JobTimeout)
	}
	for i, p := range c.Periodic {
		if p.Every <= 0 || p.Args == nil {
			return fmt.Errorf("jobs: periodic job %d needs Every > 0 and Args", i)
		}
	}
	return nil
}

// Client enqueues, works and manages the jobs of one database. It is safe
// for concurrent use.
type Client struct {
	cfg   Config
	db    *sqldb.DB
	log   *slog.Logger
	b     backend
	stats counters

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
}

// engine is what New hands a backend.
type engine struct {
	cfg   Config
	db    *sqldb.DB
	log   *slog.Logger
	units map[string]*unit // nil: enqueue and manage only
	run   runFunc
}

// New returns a client for db, whose schema MigrateUp has created. It
// connects to nothing until Start.
func New(db *sqldb.DB, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, db: db, log: cfg.Logger}
	e := engine{cfg: cfg, db: db, log: cfg.Logger}
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
			return run(ctx, c.log, &c.stats, u, row)
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
	return c, nil
}

// pruneArgs is the built-in job that deletes finished jobs past their
// retention. Deleting what is already deleted is a no-op, so it is safe
// to retry.
type pruneArgs struct{}

func (pruneArgs) Kind() string { return "jobs.prune" }

// Enqueue inserts a job in a transaction of its own and returns its row.
func (c *Client) Enqueue(ctx context.Context, args Args, opts *EnqueueOpts) (*Row, error) {
	return c.EnqueueTx(ctx, nil, args, opts)
}

// EnqueueTx inserts a job in the caller's transaction tx (on SQLite, a
// transaction of the DB's writer): it exists, and is seen by workers, if
// and only if tx commits. A nil tx enqueues in a transaction of its own.
func (c *Client) EnqueueTx(ctx context.Context, tx *sql.Tx, args Args, opts *EnqueueOpts) (*Row, error) {
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
	row, err := c.b.insert(ctx, tx, args, o)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return row, nil
}

// Start starts the workers (and the periodic jobs) of a client made with
// Workers; it returns once they run. The workers stop when Stop is called.
func (c *Client) Start(ctx context.Context) error {
	if c.cfg.Workers == nil {
		return errors.New("jobs: start: the client has no workers")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("jobs: start: already started")
	}
	if err := c.b.start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	c.started = true
	return nil
}

// Stop stops taking jobs and waits for the running ones to finish until
// ctx ends; then it cancels their contexts and waits for them to be handed
// back (retryable, to run again), so no job is left running. Stopping a
// client that is not started does nothing.
func (c *Client) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return nil
	}
	c.started = false
	if err := c.b.stop(ctx); err != nil {
		return fmt.Errorf("stop job workers: %w", err)
	}
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
// or cancelled one is given one more attempt if it has none left.
// Errors: ENOTFOUND.
func (c *Client) Retry(ctx context.Context, id int64) (*Row, error) {
	return c.b.retry(ctx, id)
}

// Cancel cancels a job that has not finished: it will not run (again). A
// running job is asked to stop: the context of its attempt is cancelled
// (at once in this process; elsewhere when that process hears of it: at
// once on PostgreSQL, within PollInterval on MySQL), the attempt counts as
// no failure, and the job ends cancelled. Errors: ENOTFOUND.
func (c *Client) Cancel(ctx context.Context, id int64) (*Row, error) {
	return c.b.cancel(ctx, id)
}

// Prune deletes completed and cancelled jobs older than Retention and
// discarded ones older than DiscardedRetention, and returns how many.
func (c *Client) Prune(ctx context.Context) (int64, error) {
	now := time.Now()
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
