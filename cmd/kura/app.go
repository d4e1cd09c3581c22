package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/sqldb"
)

// schemas are the sets of migrations kura applies, in order: its own
// tables, then the job queue's.
var schemas = app.Schema

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
	// schemaMigrator leaves the database as it is, opened as the migration
	// role (KURA_MIGRATE_DATABASE_URL when set): the migrate commands.
	schemaMigrator
)

// opened is what a command that uses the database works with, made the
// same way for each: the configuration (flags over environment over
// .env), the logger, and the open database. serve and worker are apps of
// package app instead.
type opened struct {
	cfg Config
	log *slog.Logger
	db  *sqldb.DB
}

// open loads the configuration from cf's sources, makes the logger and
// opens the database, doing what policy says about pending migrations.
// The caller closes it.
func (m *Main) open(ctx context.Context, cf *configFlags, policy schemaPolicy) (*opened, error) {
	cfg, err := loadConfig(cf.source(m))
	if err != nil {
		return nil, err
	}
	return m.openConfig(ctx, cfg, policy)
}

// openConfig is open with the configuration loaded already. It fails at
// once on a database that does not answer, saying what to check.
func (m *Main) openConfig(ctx context.Context, cfg Config, policy schemaPolicy) (*opened, error) {
	var err error
	a := &opened{cfg: cfg, log: cfg.Logger(m.Stderr)}
	dbcfg := cfg.DB(a.log)
	if policy == schemaMigrator && cfg.MigrateDatabaseURL != "" {
		dbcfg.URL = cfg.MigrateDatabaseURL
	}
	if a.db, err = sqldb.OpenWait(ctx, dbcfg, 0, a.log); err != nil {
		return nil, err
	}
	a.log.Info("database open", "engine", string(a.db.Dialect()), "url", sqldb.RedactURL(dbcfg.WithDefaults().URL),
		"pool_size", cfg.PoolSize, "max_overflow", cfg.MaxOverflow)
	switch policy {
	case schemaRequired:
		err = app.RequireMigrated(ctx, a.db, schemas...)
	case schemaMigrate:
		if err = app.MigrateUp(ctx, a.db, cfg, a.log, schemas...); err != nil {
			err = fmt.Errorf("migrate: %w", err)
		}
	}
	if err != nil {
		a.db.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the database.
func (a *opened) Close() error { return a.db.Close() }

// refuseReadOnly returns an error when read-only mode is on: what (such
// as "kura users create") would write the data the mode holds still. A
// command checks once, when it starts; the instances are what the mode
// waits for.
func (a *opened) refuseReadOnly(ctx context.Context, what string) error {
	mode, err := a.db.ReadOnlyMode(ctx)
	if err != nil || !mode.On {
		return err
	}
	why := ""
	if mode.Reason != "" {
		why = fmt.Sprintf(" (%s)", mode.Reason)
	}
	return fmt.Errorf("read-only mode is on%s: %s would write, so it does not run; run it again once \"kura db read-only status\" says off", why, what)
}
