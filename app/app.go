package app

import (
	"context"
	"github.com/kura-dev/kura/accounts"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/metrics"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// Options are what an app adds to kura's pieces, and how it is run. The
// zero Options is kura's own users API, served as kura serve serves it.
type Options struct {
	// Name names the app in its log lines ("notes serving"); "" means
	// "kura".
	Name string

	// Worker makes the process work jobs without serving HTTP, as kura
	// worker does: its concurrency is KURA_WORKERS, where 0 means
	// jobs.DefaultConcurrency. Otherwise the process serves the API and
	// works KURA_WORKERS jobs at once (0: it only enqueues).
	Worker bool

	// Sets are the app's own migration sets, applied after kura's
	// (Schema) in the order given, and held to KURA_AUTO_MIGRATE alike.
	Sets []*sqldb.Migrations

	// Jobs, if set, registers the app's job kinds on ws (jobs.AddWorker)
	// and returns its periodic jobs. It runs in New before the job client
	// is made, and only in a process that works jobs; a.DB is open.
	Jobs func(a *App, ws *jobs.Workers) []jobs.PeriodicJob

	// Routes, if set, adds the app's routes to kura's server (Handle,
	// HandleAuth), behind kura's middleware, rate limits and
	// authentication. It runs in New once the job client exists
	// (a.Jobs()), before the server opens; not in a Worker.
	Routes func(a *App, srv *httpapi.Server) error

	// Notifier, if set, wraps the built-in notifier of the job workers
	// (which stores each notification and logs it): a sender that emails
	// or posts a webhook and then calls next, say.
	Notifier func(next kura.Notifier) kura.Notifier

	// Index is what GET / answers; nil answers 404.
	Index *httpapi.Index

	// Stderr receives the log; nil means os.Stderr.
	Stderr io.Writer
	// Environ is read for NOTIFY_SOCKET (systemd's Type=notify); nil
	// means the process environment.
	Environ []string
	// Signals, if set, receives the process's SIGINT and SIGTERM: a
	// second one cuts the drain delay (KURA_DRAIN_DELAY) short.
	Signals <-chan os.Signal
	// Serving, if set, is called with the API's base URL once it accepts
	// connections, before systemd is told the app is ready.
	Serving func(a *App, url string)
}

// App is kura's pieces composed from a Config, as kura serve and kura
// worker run them: the database (waited for at start, migrated), the job
// queue with kura's own jobs (notifications, cleanup, scheduled backups,
// maintenance) and the app's, the caches, the rate limits, the metrics,
// the HTTP server with kura's routes and middleware and the app's routes,
// the instance's heartbeat and read-only switch, and the ordered
// shutdown. New makes it; Run runs it until its context ends.
type App struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	logw *logWriter // the buffered log; nil with KURA_LOG_FLUSH_INTERVAL=0
	db   *sqldb.DB
	jc   *jobs.Client
	srv  *httpapi.Server // nil in a Worker
	ln   net.Listener    // the API's, bound before the database is opened

	positions  *cache.Positions // with replicas and Redis: users' write positions, shared (replicas.go)
	metrics    *metrics.Metrics // nil: no metrics (see startMetrics)
	metricsSrv *metrics.Server  // nil: no metrics listener
	closers    []func()         // caches and limiters made, closed in reverse order
	caches     []namedCache     // the caches made, for the console's overview
	traffic    traffic          // the requests served, for the console's overview

	backupsOnce sync.Once
	backupsRead func(ctx context.Context) (backup.Status, error) // see backupStatus

	readOnly  atomic.Bool     // the read-only mode applied (see startInstance)
	mailer    *mail.Mailer    // with mail configured: see newMailer
	templates *mail.Templates // with the mailer
	flows     *accounts.Flows // with mail and KURA_PUBLIC_URL: see newFlows
	closeOnce sync.Once
}

// Schema are kura's migration sets, applied before an app's own: kura's
// tables, then the job queue's, then the mail outbox's.
var Schema = []*sqldb.Migrations{store.Schema, jobs.Schema, mail.Schema}

// DB returns the open database.
func (a *App) DB() *sqldb.DB { return a.db }

// Jobs returns the job client: enqueue on it (EnqueueTx in a write's
// transaction). It works jobs once Run starts, unless the process only
// enqueues (KURA_WORKERS=0).
func (a *App) Jobs() *jobs.Client { return a.jc }

// Mailer returns the app's mailer, whose SendTx an application calls in
// its own transactions (see package mail), or nil without mail
// (KURA_SMTP_URL, KURA_MAIL_TRANSPORT). It is set before Options.Routes
// runs.
func (a *App) Mailer() *mail.Mailer { return a.mailer }

// Logger returns the app's logger.
func (a *App) Logger() *slog.Logger { return a.log }

// Config returns the configuration the app was made with.
func (a *App) Config() Config { return a.cfg }

// Sets returns every migration set of the app, in the order they are
// applied: kura's, then Options.Sets.
func (a *App) Sets() []*sqldb.Migrations {
	return append(append([]*sqldb.Migrations{}, Schema...), a.opts.Sets...)
}

// Flush writes out the log lines held (KURA_LOG_FLUSH_INTERVAL), so that
// what follows on another stream comes after them.
func (a *App) Flush() {
	if a.logw != nil {
		a.logw.Flush()
	}
}

// Run makes the app of cfg and opts and runs it until ctx ends (see
// App.Run).
func Run(ctx context.Context, cfg Config, opts Options) error {
	a, err := New(ctx, cfg, opts)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// New makes the app: it binds KURA_ADDR (before anything else, so that a
// port another process holds fails at once and changes nothing), opens
// the database (waiting up to KURA_DB_CONNECT_TIMEOUT for one that does
// not answer yet), applies the migrations as KURA_AUTO_MIGRATE says,
// makes the metrics, the job client with kura's jobs and the app's, and,
// unless Options.Worker, the services, caches, rate limits and the HTTP
// server with the app's routes. Nothing runs until Run; on error what
// was made is closed. The caller runs the app, or closes it.
func New(ctx context.Context, cfg Config, opts Options) (*App, error) {
	if opts.Name == "" {
		opts.Name = "kura"
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	a := &App{cfg: cfg, opts: opts}
	if err := a.open(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.build(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// build makes what runs on the open database: metrics, jobs, the server.
func (a *App) build() error {
	if err := a.startMetrics(); err != nil {
		return err
	}
	if err := a.newJobs(); err != nil {
		return err
	}
	if !a.opts.Worker {
		if err := a.newServer(); err != nil {
			return err
		}
	}
	return a.listenMetrics()
}

// Close closes what New made: the listeners, caches and limiters, the
// database, then writes out the buffered log. Run calls it; call it
// yourself only for an app that is not run. It may be called again.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.ln != nil {
			a.ln.Close()
		}
		a.metricsSrv.Close(context.Background())
		for i := len(a.closers) - 1; i >= 0; i-- {
			a.closers[i]()
		}
		if a.db != nil {
			err = a.db.Close()
		}
		a.closePositions()
		a.closeLog()
	})
	return err
}

// closeLog writes out the buffered log, if any, and stops its interval.
func (a *App) closeLog() {
	if a.logw != nil {
		a.logw.Close()
		a.logw = nil
	}
}

// ready tells systemd, under Type=notify, that the process serves.
func (a *App) ready() { a.sdNotify("READY=1") }

// sdNotify sends state to systemd, logging a failure: the service works
// without it.
func (a *App) sdNotify(state string) {
	if err := a.notifySystemd(state); err != nil {
		a.log.Warn("cannot tell systemd "+state, "err", err.Error())
	}
}
