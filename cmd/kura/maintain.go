package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/maintain"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// maintainCommand maintains the database while it serves and reports
// unused indexes and the connection budget.
type maintainCommand struct {
	m          *Main
	cf         configFlags
	json       bool
	reportOnly bool
	instances  int
}

var maintainDoc = doc{
	synopsis: "maintain [--instances N] [--report-only] [--json] [--env-file FILE]",
	about: `Maintain the database while it serves, on every table of its schema (an
application's too), doing only what is safe under load:

  SQLite      PRAGMA quick_check, PRAGMA optimize, VACUUM when a quarter of
              the file (and 1 MiB) is free pages, wal_checkpoint(TRUNCATE)
  PostgreSQL  VACUUM (ANALYZE), never FULL, of the tables whose dead rows are
              a tenth of their rows and 1,000 or more, with a bloat estimate
  MariaDB     ANALYZE TABLE, and OPTIMIZE TABLE (an online rebuild) of the
              tables whose free space is a quarter of them and 64 MiB or more

Then it reports the indexes nothing used (PostgreSQL: never scanned since the
statistics' reset; MariaDB: never read, with userstat or performance_schema
on; SQLite: used by no plan of kura's statements) and the connection budget:
--instances processes, each with DB_POOL_SIZE + DB_MAX_OVERFLOW, the job
workers' own connections and the migrator's, against the server's
max_connections less its reserved ones: ok, tight or over.

It runs as KURA_MIGRATE_DATABASE_URL when set (VACUUM needs the tables'
owner), else as DATABASE_URL. A progress bar shows on a terminal. The exit
status is 1 when a step fails (quick_check finding damage, say), 2 when the
budget is over, 0 otherwise. docs/OPERATIONS.md explains the report.`,
	env: envLog | envDB | envMigrator,
}

func (c *maintainCommand) flags() *flag.FlagSet {
	fs := newFlagSet("maintain", &c.cf)
	fs.BoolVar(&c.json, "json", false, "print the report as JSON only")
	fs.BoolVar(&c.reportOnly, "report-only", false, "measure and report; change nothing (quick_check still runs)")
	fs.IntVar(&c.instances, "instances", 1, "processes (serve and worker) sharing the database server, for the connection budget")
	return fs
}

func (c *maintainCommand) Usage(w io.Writer) { printUsage(w, maintainDoc, c.flags()) }

func (c *maintainCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "maintain takes no arguments")
	}
	if c.instances < 1 {
		return c.m.usageErr(c, fmt.Sprintf("--instances %d: want 1 or more", c.instances))
	}
	a, err := c.m.open(ctx, &c.cf, schemaMigrator)
	if err != nil {
		return err
	}
	defer a.Close()
	opts := a.maintainOptions()
	opts.ReportOnly = c.reportOnly
	opts.Budget = &maintain.BudgetInput{Instances: c.instances, PoolSize: a.cfg.PoolSize, MaxOverflow: a.cfg.MaxOverflow,
		WorkerConns: jobs.WorkerConns(a.db.Dialect())}
	if !c.json {
		opts.Progress = progress(c.m.Stdout)
	}
	r, runErr := maintain.Run(ctx, a.db, opts)
	if r == nil {
		return runErr
	}
	if c.json {
		err = r.WriteJSON(c.m.Stdout)
	} else {
		err = r.WriteText(c.m.Stdout)
	}
	switch {
	case runErr != nil:
		return runErr
	case err != nil:
		return err
	case r.Budget != nil && r.Budget.Verdict == maintain.BudgetOver:
		return exitStatus{code: 2, msg: "maintain: the connection budget is over: " + r.Budget.Advice}
	}
	return nil
}

// maintainOptions are the options of kura's maintenance: its statements
// and the job queue's for the SQLite report of unused indexes.
func (a *app) maintainOptions() maintain.Options {
	d := a.db.Dialect()
	return maintain.Options{Statements: append(store.Statements(d), jobs.Statements(d)...)}
}

// progress returns a Progress function that draws a bar on w when w is a
// terminal, and nil (no progress) otherwise.
func progress(w io.Writer) func(done, total int, step string) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total int, step string) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionClearOnFinish(),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30))
		}
		bar.ChangeMax(total)
		bar.Describe(step)
		if done >= total {
			bar.Finish()
			return
		}
		bar.Set(done)
	}
}

// maintainArgs is the periodic maintenance job. Maintenance changes
// nothing a second run would undo, so it is safe to run twice. Its
// attempts may run maintainTimeout, longer than KURA_JOB_TIMEOUT's
// minute, as a VACUUM of a large table does.
type maintainArgs struct{}

func (maintainArgs) Kind() string { return "db.maintain" }

// maintainTimeout bounds one attempt of the maintenance job.
const maintainTimeout = 30 * time.Minute

// JobTimeout implements jobs.Timeouter.
func (maintainArgs) JobTimeout() time.Duration { return maintainTimeout }

// maintainShortArgs is the same job under KURA_JOB_TIMEOUT, for a
// KURA_JOB_RESCUE_AFTER too short for maintainTimeout (a job must end
// before it is taken for lost).
type maintainShortArgs struct{}

func (maintainShortArgs) Kind() string { return maintainArgs{}.Kind() }

// addMaintainJob adds the maintenance job's worker to ws and returns its
// periodic job, every KURA_MAINTAIN_INTERVAL.
func (a *app) addMaintainJob(ws *jobs.Workers) jobs.PeriodicJob {
	every := a.cfg.MaintainInterval.D()
	if a.cfg.JobRescueAfter.D() > maintainTimeout {
		jobs.AddWorker(ws, jobs.WorkerFunc[maintainArgs](func(ctx context.Context, _ *jobs.Job[maintainArgs]) error { return a.maintainJob(ctx) }))
		return jobs.PeriodicJob{Every: every, Args: func() jobs.Args { return maintainArgs{} }}
	}
	jobs.AddWorker(ws, jobs.WorkerFunc[maintainShortArgs](func(ctx context.Context, _ *jobs.Job[maintainShortArgs]) error { return a.maintainJob(ctx) }))
	return jobs.PeriodicJob{Every: every, Args: func() jobs.Args { return maintainShortArgs{} }}
}

// maintainJob runs the maintenance as the migration role when
// KURA_MIGRATE_DATABASE_URL is set (on a short-lived pool of its own;
// on SQLite through the writer kura holds, as a second writer would wait
// for it), and logs the report's summary.
func (a *app) maintainJob(ctx context.Context) error {
	db := a.db
	if a.cfg.MigrateDatabaseURL != "" && db.Dialect() != sqldb.SQLite {
		mdb, err := a.openMigrator(ctx)
		if err != nil {
			return err
		}
		defer mdb.Close()
		db = mdb
	}
	r, err := maintain.Run(ctx, db, a.maintainOptions())
	if r != nil {
		a.log.Info("database maintained", "summary", r.Summary(), "took", r.Took.String())
	}
	return err
}
