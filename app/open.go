package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"github.com/kura-dev/kura/sqldb"
)

// open binds the API's address, makes the logger and opens and migrates
// the database.
func (a *App) open(ctx context.Context) error {
	if !a.opts.Worker {
		// The port is bound before the database is opened or migrated: a
		// port another process holds fails at once and changes nothing.
		ln, err := listen(a.cfg.Addr)
		if err != nil {
			return err
		}
		a.ln = ln
	}
	a.log = a.cfg.Logger(a.opts.Stderr)
	if a.cfg.LogFlushInterval > 0 {
		// The access log and job lines are buffered (see logWriter).
		a.logw = newLogWriter(a.opts.Stderr, a.cfg.LogFlushInterval.D())
		a.log = slog.New(flushingHandler{a.cfg.Logger(a.logw).Handler(), a.logw})
	}
	dbcfg := a.cfg.DB(a.log)
	if err := a.sharePositions(&dbcfg); err != nil {
		return err
	}
	db, err := sqldb.OpenWait(ctx, dbcfg, a.cfg.DBConnectTimeout.D(), a.log)
	if err != nil {
		return err
	}
	a.db = db
	a.log.Info("database open", "engine", string(db.Dialect()), "url", sqldb.RedactURL(dbcfg.WithDefaults().URL),
		"pool_size", a.cfg.PoolSize, "max_overflow", a.cfg.MaxOverflow)
	if !a.cfg.AutoMigrate {
		// --migrate=false on a database that lacks migrations says to run
		// them, instead of failing later on a missing table.
		return RequireMigrated(ctx, db, a.Sets()...)
	}
	if err := MigrateUp(ctx, db, a.cfg, a.log, a.Sets()...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrateUp applies the pending migrations of sets: on db, or, when
// KURA_MIGRATE_DATABASE_URL is set, on a short-lived pool of its own as
// the migration role, so that the role the app serves with needs no right
// to change the schema.
func MigrateUp(ctx context.Context, db *sqldb.DB, cfg Config, log *slog.Logger, sets ...*sqldb.Migrations) error {
	if cfg.MigrateDatabaseURL == "" {
		return db.MigrateUp(ctx, sets...)
	}
	mdb, err := OpenMigrator(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("migrating as the migration role", "url", sqldb.RedactURL(cfg.MigrateDatabaseURL))
	err = mdb.MigrateUp(ctx, sets...)
	if cerr := mdb.Close(); err == nil {
		err = cerr
	}
	return err
}

// OpenMigrator opens KURA_MIGRATE_DATABASE_URL, the migration role's, with
// the pool settings of DATABASE_URL. The caller closes it.
func OpenMigrator(ctx context.Context, cfg Config, log *slog.Logger) (*sqldb.DB, error) {
	dbcfg := cfg.DB(log)
	dbcfg.URL = cfg.MigrateDatabaseURL
	mdb, err := sqldb.Open(ctx, dbcfg)
	if err != nil {
		return nil, fmt.Errorf("KURA_MIGRATE_DATABASE_URL: %w", err)
	}
	return mdb, nil
}

// RequireMigrated fails, saying to run kura migrate up, when db lacks
// migrations of sets, so that a missing table is explained instead of
// failed on.
func RequireMigrated(ctx context.Context, db *sqldb.DB, sets ...*sqldb.Migrations) error {
	list, err := db.MigrationStatus(ctx, sets...)
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

// listen binds the API's address, KURA_ADDR, saying which variable to
// change when it cannot.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("KURA_ADDR (--addr) %s is in use by another process: stop it, or choose another address", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("KURA_ADDR (--addr) %s: not allowed to listen on a port below 1024: choose a port such as 8080, and put a proxy or load balancer on 80 and 443", addr)
	case err != nil:
		return nil, fmt.Errorf("KURA_ADDR (--addr): %w", err)
	}
	return ln, nil
}
