package jobs

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/kura-dev/kura/sqldb"
)

// migrationsFS holds the MySQL queue's table and, on every engine, the
// heartbeat table; the other engines' job tables are River's, made by
// River's migrator.
//
//go:embed migrations
var migrationsFS embed.FS

// Schema is the job queue's schema, a set of migrations of its own applied
// with the application's: db.MigrateUp(ctx, store.Schema, jobs.Schema, ...).
// Its history is the table jobs_schema_migrations.
//
// On PostgreSQL and SQLite its version 1 runs River's own migrator, pinned
// to River's schema version 8 (riverSchemaVersion), so River's bookkeeping
// table (river_migration) stays true; a later River schema comes as a new
// version with a higher target. On PostgreSQL it runs outside a
// transaction: River applies each of its versions in a transaction of its
// own (PostgreSQL cannot use an enum value in the transaction that adds
// it) and records each, so a run cut short resumes where it stopped. On
// SQLite it runs in the migration's transaction, on the writer's one
// connection. On MySQL and MariaDB version 1 creates the table of the
// package's own queue (migrations/mysql). Version 2, on every engine,
// creates kura_job_clients, where each started client with workers keeps
// its heartbeat (see Config.Heartbeat).
var Schema = &sqldb.Migrations{
	Name: "jobs",
	FS:   sqldb.SubFS(migrationsFS, "migrations"),
	Go:   riverMigrations,
}

// riverSchemaVersion is the River schema version Schema creates.
const riverSchemaVersion = 8

func riverMigrations(d sqldb.Dialect) []sqldb.GoMigration {
	quiet := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	m := sqldb.GoMigration{Version: 1, Name: "00001_river.go"}
	switch d {
	case sqldb.SQLite:
		migrator, err := rivermigrate.New(riversqlite.New(nil), quiet)
		migrate := func(dir rivermigrate.Direction, target int) func(context.Context, *sql.Tx) error {
			return func(ctx context.Context, tx *sql.Tx) error {
				err := err
				if err == nil {
					_, err = migrator.MigrateTx(ctx, tx, dir, &rivermigrate.MigrateOpts{TargetVersion: target})
				}
				return riverSchemaErr(dir, err)
			}
		}
		m.UpTx = migrate(rivermigrate.DirectionUp, riverSchemaVersion)
		m.DownTx = migrate(rivermigrate.DirectionDown, -1)
	case sqldb.Postgres:
		migrate := func(dir rivermigrate.Direction, target int) func(context.Context, *sql.DB) error {
			return func(ctx context.Context, p *sql.DB) error {
				migrator, err := rivermigrate.New(riverdatabasesql.New(p), quiet)
				if err == nil {
					_, err = migrator.Migrate(ctx, dir, &rivermigrate.MigrateOpts{TargetVersion: target})
				}
				return riverSchemaErr(dir, err)
			}
		}
		m.UpDB = migrate(rivermigrate.DirectionUp, riverSchemaVersion)
		m.DownDB = migrate(rivermigrate.DirectionDown, -1)
	default:
		return nil
	}
	return []sqldb.GoMigration{m}
}

func riverSchemaErr(dir rivermigrate.Direction, err error) error {
	if err != nil {
		return fmt.Errorf("river schema %s: %w", dir, err)
	}
	return nil
}
