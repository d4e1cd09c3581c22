package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
)

// expireSessionsArgs is the housekeeping job that deletes expired sessions.
// Deleting what is already gone does nothing, so it is safe to retry.
type expireSessionsArgs struct{}

func (expireSessionsArgs) Kind() string { return "sessions.delete_expired" }

// newJobs returns the process's job client. With concurrency > 0 it works
// jobs once started: notification delivery, expired-session cleanup every
// KURA_SESSION_CLEANUP_INTERVAL and pruning of finished jobs; with 0 it
// only enqueues and manages them.
func (m *Main) newJobs(cfg *Config, db *sqldb.DB, logger *slog.Logger, concurrency int) (*jobs.Client, error) {
	jc := jobs.Config{
		Concurrency:        concurrency,
		MaxAttempts:        cfg.JobMaxAttempts,
		JobTimeout:         cfg.JobTimeout.D(),
		RescueAfter:        cfg.JobRescueAfter.D(),
		PollInterval:       cfg.JobPollInterval.D(),
		Retention:          cfg.JobRetention.D(),
		DiscardedRetention: cfg.JobDiscardedRetention.D(),
		Logger:             logger,
	}
	if concurrency > 0 {
		var n kura.Notifier = notify.Store{Notifications: sqldb.NewNotificationService(db), Logger: logger}
		if m.Notifier != nil {
			n = m.Notifier(n)
		}
		sessions := sqldb.NewSessionService(db, cfg.SessionTTL.D())
		ws := jobs.NewWorkers()
		notify.AddWorker(ws, n, logger)
		jobs.AddWorker(ws, jobs.WorkerFunc[expireSessionsArgs](func(ctx context.Context, _ *jobs.Job[expireSessionsArgs]) error {
			n, err := sessions.DeleteExpiredSessions(ctx)
			if n > 0 {
				logger.Info("expired sessions deleted", "deleted", n)
			}
			return err
		}))
		jc.Workers = ws
		jc.Periodic = []jobs.PeriodicJob{{
			Every: cfg.SessionCleanupInterval.D(), RunOnStart: true,
			Args: func() jobs.Args { return expireSessionsArgs{} },
		}}
	}
	return jobs.New(db, jc)
}

// worker works background jobs without serving the API, until SIGINT or
// SIGTERM; then it lets running jobs finish, or hands them back, within
// KURA_SHUTDOWN_TIMEOUT.
func (m *Main) worker(ctx context.Context, args []string) error {
	fs, envFile := m.newFlagSet("worker", "worker [flags]")
	concurrency := fs.Int("concurrency", 0, "jobs worked at once (KURA_WORKERS; 0 there means 10 here)")
	migrate := fs.Bool("migrate", true, "apply pending migrations at start (KURA_AUTO_MIGRATE)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(m.environ(), *envFile)
	if err != nil {
		return err
	}
	if !flagWasSet(fs, "migrate") {
		*migrate = cfg.AutoMigrate
	}
	if !flagWasSet(fs, "concurrency") {
		*concurrency = cfg.Workers
	}
	if *concurrency < 0 {
		return usageError{"--concurrency must not be negative"}
	}
	if *concurrency == 0 {
		*concurrency = jobs.DefaultConcurrency
	}
	logger := cfg.Logger(m.Stderr)
	db, err := m.openDB(ctx, &cfg, logger, *migrate)
	if err != nil {
		return err
	}
	defer db.Close()
	jc, err := m.newJobs(&cfg, db, logger, *concurrency)
	if err != nil {
		return err
	}
	if err := jc.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	logger.Info("kura worker running", "engine", string(db.Dialect()), "concurrency", *concurrency, "version", kura.Version)
	<-ctx.Done()
	logger.Info("shutting down", "deadline", cfg.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout.D())
	defer cancel()
	start := time.Now()
	err = jc.Stop(sctx)
	logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return err
}

const jobsSynopsis = `jobs list|counts|retry ID|cancel ID [flags]

  list      list jobs, newest first (--state, --kind, --limit)
  counts    count jobs in each state
  retry ID  run a failed, discarded or cancelled job again now
  cancel ID cancel a job that has not finished`

// jobsCmd lets an operator inspect and steer background jobs.
func (m *Main) jobsCmd(ctx context.Context, args []string) error {
	fs, envFile := m.newFlagSet("jobs", jobsSynopsis)
	state := fs.String("state", "", "list only jobs in this `state` (failed = retryable and discarded)")
	kind := fs.String("kind", "", "list only jobs of this `kind`")
	limit := fs.Int("limit", 50, "list at most `n` jobs")
	// The action comes first: kura jobs list --state failed.
	action := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	want := map[string]int{"list": 0, "counts": 0, "retry": 1, "cancel": 1}
	if n, ok := want[action]; !ok || fs.NArg() != n {
		fs.Usage()
		return usageError{"jobs needs one of list, counts, retry ID, cancel ID"}
	}
	var id int64
	if fs.NArg() == 1 {
		var err error
		if id, err = strconv.ParseInt(fs.Arg(0), 10, 64); err != nil || id < 1 {
			return usageError{fmt.Sprintf("job id %q is not a positive number", fs.Arg(0))}
		}
	}
	opts := jobs.ListOptions{Limit: *limit}
	if *state != "" {
		states, err := jobs.ParseStates(*state)
		if err != nil {
			return usageError{"--state " + kura.ErrorFields(err)["state"]}
		}
		opts.States = states
	}
	if *kind != "" {
		opts.Kinds = []string{*kind}
	}
	if *limit < 1 || *limit > jobs.MaxListLimit {
		return usageError{fmt.Sprintf("--limit must be between 1 and %d", jobs.MaxListLimit)}
	}

	cfg, err := LoadConfig(m.environ(), *envFile)
	if err != nil {
		return err
	}
	logger := cfg.Logger(m.Stderr)
	db, err := m.openDB(ctx, &cfg, logger, true)
	if err != nil {
		return err
	}
	defer db.Close()
	jc, err := m.newJobs(&cfg, db, logger, 0)
	if err != nil {
		return err
	}
	switch action {
	case "retry", "cancel":
		f := jc.Retry
		if action == "cancel" {
			f = jc.Cancel
		}
		row, err := f(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "job %d (%s): %s, attempt %d of %d\n", row.ID, row.Kind, row.State, row.Attempt, row.MaxAttempts)
		return nil
	case "counts":
		counts, err := jc.Counts(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "STATE\tJOBS")
		for _, s := range jobs.States {
			fmt.Fprintf(w, "%s\t%d\n", s, counts[s])
		}
		return w.Flush()
	}
	rows, err := jc.List(ctx, opts)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tSTATE\tATTEMPT\tCREATED\tNEXT RUN\tLAST ERROR")
	for _, r := range rows {
		next := "-"
		switch r.State {
		case jobs.StateAvailable, jobs.StateScheduled, jobs.StateRetryable:
			next = r.ScheduledAt.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", r.ID, r.Kind, r.State, r.Attempt, r.MaxAttempts,
			r.CreatedAt.UTC().Format(time.DateTime), next, oneLine(r.LastError(), 80))
	}
	return w.Flush()
}

// oneLine shortens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
