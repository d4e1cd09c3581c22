package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/store"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/metrics"
	"github.com/kura-dev/kura/sqldb"
)

// schemas are the sets of migrations kura applies, in order: its own
// tables, then the job queue's, then the mail outbox's.
var schemas = []*sqldb.Migrations{store.Schema, jobs.Schema, mail.Schema}

// schemaPolicy says what a command does about pending migrations once the
// database is open.
type schemaPolicy int

const (
	// schemaAsIs leaves the database as it is: migrate itself.
	schemaAsIs schemaPolicy = iota
	// schemaRequired refuses a database with pending migrations, saying to
	// run kura migrate up: the read-only commands, which never migrate.
	schemaRequired
	// schemaMigrate applies pending migrations: the users commands.
	schemaMigrate
	// schemaAutoMigrate applies them when KURA_AUTO_MIGRATE (or --migrate)
	// says so: serve and worker.
	schemaAutoMigrate
	// schemaMigrator leaves the database as it is, opened as the migration
	// role (KURA_MIGRATE_DATABASE_URL when set): the migrate commands.
	schemaMigrator
)

// app is what a command that uses the database works with, made the same
// way for each: the configuration (flags over environment over .env), the
// logger, and the open database.
type app struct {
	positions *cache.Positions // with replicas and Redis: users' write positions, shared (replicas.go)
	cfg       Config
	log       *slog.Logger
	logw      *logWriter // serve and worker: the buffered log; nil otherwise
	db        *sqldb.DB

	metrics    *metrics.Metrics // nil: no metrics (see startMetrics)
	metricsSrv *metrics.Server  // nil: no metrics listener

	backupsOnce sync.Once
	backupsRead func(ctx context.Context) (backup.Status, error) // see backupStatus

	notify func(state string) error // tells systemd (NOTIFY_SOCKET): Main.sdNotify

	readOnly atomic.Bool // serve and worker: the read-only mode applied (see startInstance)

	mailer    *mail.Mailer    // serve and worker with mail configured: see newMailer
	templates *mail.Templates // with the mailer
	flows     *accounts.Flows // serve and worker with mail and KURA_PUBLIC_URL: see newFlows
}

// ready tells systemd, under Type=notify, that the process serves.
func (a *app) ready() { a.sdNotify("READY=1") }

// sdNotify sends state to systemd, logging a failure: the service works
// without it.
func (a *app) sdNotify(state string) {
	if a.notify == nil {
		return
	}
	if err := a.notify(state); err != nil {
		a.log.Warn("cannot tell systemd "+state, "err", err.Error())
	}
}

// open loads the configuration from cf's sources, makes the logger and
// opens the database, doing what policy says about pending migrations.
// The caller closes the app.
func (m *Main) open(ctx context.Context, cf *configFlags, policy schemaPolicy) (*app, error) {
	cfg, err := loadConfig(cf.source(m))
	if err != nil {
		return nil, err
	}
	return m.openConfig(ctx, cfg, policy)
}

// openConfig is open with the configuration loaded already. serve and
// worker (schemaAutoMigrate) wait for a database that does not answer yet,
// up to KURA_DB_CONNECT_TIMEOUT; the other commands fail at once. Either
// way a failure to connect says what to check.
func (m *Main) openConfig(ctx context.Context, cfg Config, policy schemaPolicy) (*app, error) {
	var err error
	a := &app{cfg: cfg, log: cfg.Logger(m.Stderr), notify: m.sdNotify}
	if policy == schemaAutoMigrate && cfg.LogFlushInterval > 0 {
		// serve and worker, the commands that run for long: their access
		// log and job lines are buffered (see logWriter).
		a.logw = newLogWriter(m.Stderr, cfg.LogFlushInterval.D())
		a.log = slog.New(flushingHandler{cfg.Logger(a.logw).Handler(), a.logw})
	}
	dbcfg := cfg.DB(a.log)
	if policy == schemaMigrator && cfg.MigrateDatabaseURL != "" {
		dbcfg.URL = cfg.MigrateDatabaseURL
	}
	wait := time.Duration(0)
	if policy == schemaAutoMigrate {
		wait = cfg.DBConnectTimeout.D()
		if err := a.sharePositions(&dbcfg); err != nil {
			a.closeLog()
			return nil, err
		}
	}
	if a.db, err = openDB(ctx, dbcfg, wait, a.log); err != nil {
		a.closePositions()
		a.closeLog()
		return nil, err
	}
	a.log.Info("database open", "engine", string(a.db.Dialect()), "url", sqldb.RedactURL(dbcfg.WithDefaults().URL),
		"pool_size", cfg.PoolSize, "max_overflow", cfg.MaxOverflow)
	switch {
	case policy == schemaRequired, policy == schemaAutoMigrate && !cfg.AutoMigrate:
		// serve --migrate=false on a database that lacks migrations says
		// to run them, instead of failing later on a missing table.
		err = a.requireMigrated(ctx)
	case policy == schemaMigrate, policy == schemaAutoMigrate && cfg.AutoMigrate:
		if err = a.migrateUp(ctx); err != nil {
			err = fmt.Errorf("migrate: %w", err)
		}
	}
	if err != nil {
		a.db.Close()
		a.closeLog()
		return nil, err
	}
	return a, nil
}

// migrateUp applies pending migrations: on the open database, or, when
// KURA_MIGRATE_DATABASE_URL is set, on a short-lived pool of its own as
// the migration role, so that the role the app serves with needs no right
// to change the schema.
func (a *app) migrateUp(ctx context.Context) error {
	if a.cfg.MigrateDatabaseURL == "" {
		return a.db.MigrateUp(ctx, schemas...)
	}
	mdb, err := a.openMigrator(ctx)
	if err != nil {
		return err
	}
	a.log.Info("migrating as the migration role", "url", sqldb.RedactURL(a.cfg.MigrateDatabaseURL))
	err = mdb.MigrateUp(ctx, schemas...)
	if cerr := mdb.Close(); err == nil {
		err = cerr
	}
	return err
}

// openMigrator opens KURA_MIGRATE_DATABASE_URL, the migration role's, with
// the pool settings of DATABASE_URL. The caller closes it.
func (a *app) openMigrator(ctx context.Context) (*sqldb.DB, error) {
	dbcfg := a.cfg.DB(a.log)
	dbcfg.URL = a.cfg.MigrateDatabaseURL
	mdb, err := sqldb.Open(ctx, dbcfg)
	if err != nil {
		return nil, fmt.Errorf("KURA_MIGRATE_DATABASE_URL: %w", err)
	}
	return mdb, nil
}

// requireMigrated fails, saying to run kura migrate up, when the database
// lacks migrations this kura knows, so that a read-only command explains a
// missing table instead of failing on it.
func (a *app) requireMigrated(ctx context.Context) error {
	list, err := a.db.MigrationStatus(ctx, schemas...)
	if err != nil {
		return err
	}
	var pending []string
	for _, s := range list {
		if !s.Applied {
			pending = append(pending, s.Set+" "+s.Name)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return fmt.Errorf("the database is not migrated (%d pending: %s): run \"kura migrate up\" first",
		len(pending), strings.Join(pending, ", "))
}

// Close closes the database, then writes out the buffered log.
func (a *app) Close() error {
	a.metricsSrv.Close(context.Background())
	err := a.db.Close()
	a.closePositions()
	a.closeLog()
	return err
}

// closeLog writes out the buffered log, if any, and stops its interval.
func (a *app) closeLog() {
	if a.logw != nil {
		a.logw.Close()
		a.logw = nil
	}
}

// stopOnSignal waits until ctx ends (SIGINT or SIGTERM), then calls each
// of stops in order, all within one KURA_SHUTDOWN_TIMEOUT, closes the
// metrics listener (last, so that the drain can be watched) and the
// database, and returns the first error. It is the shutdown sequence of
// serve (the HTTP server, then the job workers) and worker (the workers).
func (a *app) stopOnSignal(ctx context.Context, stops ...func(context.Context) error) error {
	<-ctx.Done()
	a.sdNotify("STOPPING=1")
	a.log.Info("shutting down", "deadline", a.cfg.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout.D())
	defer cancel()
	start := time.Now()
	var first error
	for _, stop := range append(stops, a.metricsSrv.Close, func(context.Context) error { return a.db.Close() }) {
		if err := stop(sctx); first == nil {
			first = err
		}
	}
	a.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return first
}

// openServing is how serve and worker, the commands that run until a
// signal, begin: parse their flags (they take no arguments), open the
// database as KURA_AUTO_MIGRATE says, and make the metrics. The caller
// closes the app.
//
// before, if set, runs once the configuration is loaded and before the
// database is opened: serve binds its port there, so that a taken port
// fails at once and touches nothing.
func (m *Main) openServing(ctx context.Context, cmd Command, cf *configFlags, fs *flag.FlagSet, args []string, name string, before func(*Config) error) (*app, error) {
	if err := m.parseFlags(cmd, fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, m.usageErr(cmd, name+" takes no arguments")
	}
	cfg, err := loadConfig(cf.source(m))
	if err != nil {
		return nil, err
	}
	if before != nil {
		if err := before(&cfg); err != nil {
			return nil, err
		}
	}
	a, err := m.openConfig(ctx, cfg, schemaAutoMigrate)
	if err != nil {
		return nil, err
	}
	if err := a.startMetrics(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}
