package app

import (
	"context"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/maintain"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// expireSessionsArgs is the housekeeping job that deletes expired sessions.
// Deleting what is already gone does nothing, so it is safe to retry.
type expireSessionsArgs struct{}

func (expireSessionsArgs) Kind() string { return "sessions.delete_expired" }

// expireIdempotencyKeysArgs is the housekeeping job that deletes the
// idempotency keys past kura.IdempotencyTTL, on the sessions' interval.
// Deleting what is already gone does nothing, so it is safe to retry.
type expireIdempotencyKeysArgs struct{}

func (expireIdempotencyKeysArgs) Kind() string { return "idempotency_keys.delete_expired" }

// concurrency is how many jobs the process works at once: KURA_WORKERS,
// whose 0 means jobs.DefaultConcurrency in a Worker.
func (a *App) concurrency() int {
	if a.opts.Worker && a.cfg.Workers == 0 {
		return jobs.DefaultConcurrency
	}
	return a.cfg.Workers
}

// newJobs makes the process's job client. When the process works jobs it
// works notification delivery (through Options.Notifier, if set),
// expired-session and expired-idempotency-key cleanup every
// KURA_SESSION_CLEANUP_INTERVAL, backups every KURA_BACKUP_INTERVAL, the
// database's maintenance every KURA_MAINTAIN_INTERVAL, pruning of
// finished jobs and the app's own jobs (Options.Jobs); otherwise it only
// enqueues and manages them.
func (a *App) newJobs() error {
	cfg := a.cfg.Jobs(a.concurrency(), a.log)
	if err := a.newMailer(); err != nil {
		return err
	}
	if err := a.newFlows(); err != nil {
		return err
	}
	if cfg.Concurrency > 0 {
		ws := jobs.NewWorkers()
		cfg.Workers = ws
		cfg.Periodic = a.addKuraJobs(ws)
		if a.opts.Jobs != nil {
			cfg.Periodic = append(cfg.Periodic, a.opts.Jobs(a, ws)...)
		}
	}
	if a.metrics != nil {
		cfg.OnAttempt = a.metrics.ObserveJob
	}
	jc, err := jobs.New(a.db, cfg)
	if err != nil {
		return err
	}
	a.jc = jc
	if a.metrics != nil {
		a.metrics.AddJobs(jc)
	}
	a.mailUseJobs(jc)
	a.flowsUseJobs(jc)
	return nil
}

// addKuraJobs registers kura's own workers on ws and returns their
// periodic jobs.
func (a *App) addKuraJobs(ws *jobs.Workers) []jobs.PeriodicJob {
	var n kura.Notifier = notify.Store{Notifications: store.NewNotificationService(a.db), Logger: a.log}
	if a.opts.Notifier != nil {
		n = a.opts.Notifier(n)
	}
	notify.AddWorker(ws, n, a.log)
	a.addMailWorker(ws)
	a.addFlowsWorker(ws)
	sessions := store.NewSessions(a.db, a.cfg.SessionTTL.D())
	jobs.AddWorker(ws, jobs.WorkerFunc[expireSessionsArgs](func(ctx context.Context, _ *jobs.Job[expireSessionsArgs]) error {
		n, err := sessions.DeleteExpiredSessions(ctx)
		if n > 0 {
			a.log.Info("expired sessions deleted", "deleted", n)
		}
		return err
	}))
	keys := store.NewIdempotencyStore(a.db)
	jobs.AddWorker(ws, jobs.WorkerFunc[expireIdempotencyKeysArgs](func(ctx context.Context, _ *jobs.Job[expireIdempotencyKeysArgs]) error {
		n, err := keys.DeleteExpiredIdempotencyKeys(ctx)
		if n > 0 {
			a.log.Info("expired idempotency keys deleted", "deleted", n)
		}
		return err
	}))
	periodic := []jobs.PeriodicJob{{
		Every: a.cfg.SessionCleanupInterval.D(), RunOnStart: true,
		Args: func() jobs.Args { return expireSessionsArgs{} },
	}, {
		Every: a.cfg.SessionCleanupInterval.D(), RunOnStart: true,
		Args: func() jobs.Args { return expireIdempotencyKeysArgs{} },
	}}
	periodic = append(periodic, a.backupSchedule().Add(ws)...)
	if a.cfg.MaintainInterval > 0 {
		periodic = append(periodic, a.addMaintainJob(ws))
	}
	return periodic
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
func (a *App) addMaintainJob(ws *jobs.Workers) jobs.PeriodicJob {
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
// on SQLite through the writer the app holds, as a second writer would
// wait for it), and logs the report's summary.
func (a *App) maintainJob(ctx context.Context) error {
	db := a.db
	if a.cfg.MigrateDatabaseURL != "" && db.Dialect() != sqldb.SQLite {
		mdb, err := OpenMigrator(ctx, a.cfg, a.log)
		if err != nil {
			return err
		}
		defer mdb.Close()
		db = mdb
	}
	r, err := maintain.Run(ctx, db, MaintainOptions(db.Dialect()))
	if r != nil {
		a.log.Info("database maintained", "summary", r.Summary(), "took", r.Took.String())
	}
	return err
}

// MaintainOptions are the options of kura's maintenance on an engine: its
// statements and the job queue's, for the SQLite report of unused
// indexes.
func MaintainOptions(d sqldb.Dialect) maintain.Options {
	return maintain.Options{Statements: append(store.Statements(d), jobs.Statements(d)...)}
}
