package main

import (
	"context"
	"flag"
	"io"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/store"
)

// workerCommand works background jobs without serving the API, until
// SIGINT or SIGTERM; then it lets running jobs finish, or hands them back,
// within KURA_SHUTDOWN_TIMEOUT.
type workerCommand struct {
	m  *Main
	cf configFlags
}

var workerDoc = doc{
	synopsis: "worker [--concurrency N] [--migrate=false] [--env-file FILE]",
	about: `Work background jobs without serving the API, until SIGINT or SIGTERM; then
let running jobs finish, or hand them back to run again, within
KURA_SHUTDOWN_TIMEOUT. KURA_WORKERS=0, which makes serve only enqueue, means
the default here.`,
	env: envLog | envDB | envStart | envMigrate | envMigrator | envJobs | envShutdown | envMetrics | envBackup | envMail,
}

func (c *workerCommand) flags() *flag.FlagSet {
	fs := newFlagSet("worker", &c.cf)
	c.cf.bind(fs, "concurrency", "KURA_WORKERS", "jobs worked at once")
	c.cf.bind(fs, "migrate", "KURA_AUTO_MIGRATE", "apply pending migrations at start")
	return fs
}

func (c *workerCommand) Usage(w io.Writer) { printUsage(w, workerDoc, c.flags()) }

func (c *workerCommand) Run(ctx context.Context, args []string) error {
	a, err := c.m.openServing(ctx, c, &c.cf, c.flags(), args, "worker", nil)
	if err != nil {
		return err
	}
	defer a.Close()
	concurrency := a.cfg.Workers
	if concurrency == 0 {
		concurrency = jobs.DefaultConcurrency
	}
	jc, err := a.newJobs(c.m, concurrency)
	if err != nil {
		return err
	}
	if err := a.listenMetrics(); err != nil {
		return err
	}
	// The workers start only while the read-only switch is off.
	inst, err := a.startInstance(ctx, "worker", a.readOnlyApply(context.WithoutCancel(ctx), nil, jc, true))
	if err != nil {
		return err
	}
	a.log.Info("kura worker running", "engine", string(a.db.Dialect()), "concurrency", concurrency, "version", kura.Version)
	a.ready()
	return a.stopOnSignal(ctx, inst.halt, jc.Stop, inst.retire)
}

// expireSessionsArgs is the housekeeping job that deletes expired sessions.
// Deleting what is already gone does nothing, so it is safe to retry.
type expireSessionsArgs struct{}

func (expireSessionsArgs) Kind() string { return "sessions.delete_expired" }

// expireIdempotencyKeysArgs is the housekeeping job that deletes the
// idempotency keys past kura.IdempotencyTTL, on the sessions' interval.
// Deleting what is already gone does nothing, so it is safe to retry.
type expireIdempotencyKeysArgs struct{}

func (expireIdempotencyKeysArgs) Kind() string { return "idempotency_keys.delete_expired" }

// newJobs returns the process's job client. With concurrency > 0 it works
// jobs once started: notification delivery (through m.Notifier, if set),
// expired-session and expired-idempotency-key cleanup every
// KURA_SESSION_CLEANUP_INTERVAL, backups
// every KURA_BACKUP_INTERVAL, the database's maintenance every
// KURA_MAINTAIN_INTERVAL and pruning of finished jobs; with 0 it only
// enqueues and manages them.
func (a *app) newJobs(m *Main, concurrency int) (*jobs.Client, error) {
	cfg := a.cfg.Jobs(concurrency, a.log)
	if err := a.newMailer(); err != nil {
		return nil, err
	}
	if err := a.newFlows(); err != nil {
		return nil, err
	}
	if concurrency > 0 {
		var n kura.Notifier = notify.Store{Notifications: store.NewNotificationService(a.db), Logger: a.log}
		if m.Notifier != nil {
			n = m.Notifier(n)
		}
		sessions := store.NewSessions(a.db, a.cfg.SessionTTL.D())
		ws := jobs.NewWorkers()
		notify.AddWorker(ws, n, a.log)
		a.addMailWorker(ws)
		a.addFlowsWorker(ws)
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
		cfg.Workers = ws
		cfg.Periodic = []jobs.PeriodicJob{{
			Every: a.cfg.SessionCleanupInterval.D(), RunOnStart: true,
			Args: func() jobs.Args { return expireSessionsArgs{} },
		}, {
			Every: a.cfg.SessionCleanupInterval.D(), RunOnStart: true,
			Args: func() jobs.Args { return expireIdempotencyKeysArgs{} },
		}}
		cfg.Periodic = append(cfg.Periodic, a.backupSchedule().Add(ws)...)
		if a.cfg.MaintainInterval > 0 {
			cfg.Periodic = append(cfg.Periodic, a.addMaintainJob(ws))
		}
	}
	if a.metrics != nil {
		cfg.OnAttempt = a.metrics.ObserveJob
	}
	jc, err := jobs.New(a.db, cfg)
	if err != nil {
		return nil, err
	}
	if a.metrics != nil {
		a.metrics.AddJobs(jc)
	}
	a.mailUseJobs(jc)
	a.flowsUseJobs(jc)
	return jc, nil
}
