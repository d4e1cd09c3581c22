// Package jobs runs durable background jobs on the application's own
// database. A job is a row, inserted in the same transaction as the change
// that caused it (EnqueueTx), so it exists if and only if that transaction
// commits; workers take it, run it with a deadline, retry it with
// exponential backoff when it fails or panics, and keep its errors when it
// runs out of attempts (the discarded, "dead" state). Jobs can be scheduled
// for later and enqueued periodically.
//
// On PostgreSQL and SQLite the engine is River (riverpgxv5 for working jobs,
// with LISTEN/NOTIFY; riverdatabasesql and riversqlite for inserting them
// in a database/sql transaction). MySQL and MariaDB have no River driver:
// there the same interface runs on a small queue of its own, one table
// polled with SELECT ... FOR UPDATE SKIP LOCKED (MariaDB 10.6+, MySQL 8).
// One test suite holds both to the same behaviour.
//
// # The schema
//
// The queue's tables are a set of migrations of their own, Schema, applied
// with kura's and the application's:
//
//	db, err := sqldb.Open(ctx, sqldb.Config{URL: os.Getenv("DATABASE_URL")})
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema, app.Schema); err != nil {
//		return err
//	}
//
// New refuses a database without Schema's tables (ErrNoSchema, naming
// jobs.Schema), so a forgotten set shows at start, not at the first
// enqueue.
//
// # A job: its Args and its worker
//
// A job's Args is a struct stored as JSON; its Kind names the job and picks
// its worker, so it must not change between releases. A worker is a
// function (WorkerFunc) or any type with a Work method, registered in a
// Workers set:
//
//	type EmailArgs struct {
//		UserID int64  `json:"user_id"`
//		Key    string `json:"key"` // an idempotency key: see below
//	}
//
//	func (EmailArgs) Kind() string { return "app.email" }
//
//	ws := jobs.NewWorkers()
//	jobs.AddWorker(ws, jobs.WorkerFunc[EmailArgs](func(ctx context.Context, j *jobs.Job[EmailArgs]) error {
//		return mailer.Send(ctx, j.Args.UserID, j.Args.Key) // an error is retried
//	}))
//
// # A client: New, Start, Stop
//
// New takes the database (a DB: *sqldb.DB, or anything with its dialect
// and pools) and a Config, whose zero fields take their defaults
// (Config.WithDefaults; Config.Validate says what is wrong with one). A
// client with Workers works jobs once started; one without only enqueues
// and manages them (a web process whose jobs run elsewhere, or a CLI):
//
//	c, err := jobs.New(db, jobs.Config{Workers: ws, Logger: logger})
//	if err != nil {
//		return err
//	}
//	// A context the shutdown signal does not cancel: ending it stops hard.
//	if err := c.Start(context.WithoutCancel(ctx)); err != nil {
//		return err
//	}
//	<-ctx.Done()
//	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
//	defer cancel()
//	// Running jobs finish, or are handed back to run again when the
//	// deadline comes: none is left running.
//	err = c.Stop(stopCtx)
//
// # Enqueueing in the caller's transaction
//
// EnqueueTx inserts the job in a transaction of the application, such as
// one of sqldb's InTx (on SQLite, a transaction of the DB's writer): if the
// transaction rolls back, the job never existed.
//
//	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
//		if _, err := tx.ExecContext(ctx, "UPDATE ...", ...); err != nil {
//			return err
//		}
//		_, err := c.EnqueueTx(ctx, tx, EmailArgs{UserID: id, Key: key}, nil)
//		return err
//	})
//
// Enqueue does the same in a transaction of its own. EnqueueOpts schedule a
// job for later (ScheduledAt), or change its attempts and priority.
//
// # Periodic jobs
//
// Config.Periodic lists jobs enqueued every interval while a client with
// workers runs; several processes enqueue one job per period between them.
// The kind needs a worker like any other:
//
//	cfg.Periodic = []jobs.PeriodicJob{{
//		Every:      time.Hour,
//		Args:       func() jobs.Args { return CleanupArgs{} },
//		RunOnStart: true,
//	}}
//
// The built-in jobs.prune job deletes finished jobs past Config.Retention
// every Config.PruneInterval.
//
// # Managing jobs
//
// Get, List, Retry, Cancel, Prune and Counts serve dashboards and
// operators; Counts(...).Depth() is the queue depth and Stats what this
// client's workers did. Holder says which process runs a job and whether
// it is alive.
//
// # Heartbeats: the jobs of a process that died
//
// A started client with workers records in the database that it is alive
// every Config.Heartbeat (5 seconds), in the table kura_job_clients, under
// its ID, which is also what the jobs it takes record as their holder
// (Row.AttemptedBy). Times there are the database's clock, so hosts whose
// clocks disagree still agree. A client not heard from for 3 heartbeats
// is dead (killed, its machine gone, or cut off from the database), and
// every live client releases its running jobs: each is available again at
// once, whatever its kind's deadline, with the interrupted attempt
// recorded as an error. With the defaults the jobs of a process killed
// with SIGKILL run again within about 20 seconds, on another process or
// on the same one restarted. A long job of a live process, such as a
// backup with a deadline of 45 minutes, is left alone as long as its
// process beats. Stop deletes the heartbeat.
//
// RescueAfter is the last resort: a job still running after it, though
// its process beats (a worker that ignores its deadline) or though its
// holder left no heartbeat (a job taken by a version before heartbeats),
// is retried then.
//
// Retry refuses a job running on a live process, and Cancel a finished
// job, with an ECONFLICT error that says why; both release a job whose
// process has stopped beating before acting on it. Holder describes a
// running job's process.
//
// # At least once
//
// A job whose process dies while running it runs again, and a job whose
// completion was not yet recorded may run twice; so may a job of a
// process cut off from the database for 3 heartbeats, whose jobs others
// release while it still runs them. Workers are written to be safe to
// retry: an idempotency key, a unique constraint, a conditional update.
package jobs
