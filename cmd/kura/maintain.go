package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/maintain"
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
	opts := app.MaintainOptions(a.db.Dialect())
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
