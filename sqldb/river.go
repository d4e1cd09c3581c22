package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// The job queue's schema on PostgreSQL and SQLite is River's (package
// jobs), created by migration riverJobsVersion through River's own
// migrator, pinned to riverSchemaVersion, inside goose's transaction: one
// migration history for the whole schema, and River's bookkeeping table
// (river_migration) kept true. A later River schema comes as a new goose
// migration with a higher target. On MySQL, migration 3 is a plain SQL
// file creating the table of the jobs package's own queue.
const (
	riverJobsVersion   = 3
	riverJobsName      = "00003_jobs.go"
	riverSchemaVersion = 8
)

// goMigrations returns the migrations written in Go for the dialect.
// On PostgreSQL River's migration runs outside goose's transaction: River
// applies each of its versions in a transaction of its own (PostgreSQL
// cannot use an enum value in the transaction that adds it) and records
// each in river_migration, so a run cut short resumes where it stopped.
// On SQLite it runs in goose's transaction, on the writer's one
// connection that goose holds.
func (db *DB) goMigrations() []*goose.Migration {
	quiet := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	var up, down *goose.GoFunc
	switch db.dialect {
	case SQLite:
		m, err := rivermigrate.New(riversqlite.New(nil), quiet)
		migrate := func(dir rivermigrate.Direction, target int) func(context.Context, *sql.Tx) error {
			return func(ctx context.Context, tx *sql.Tx) error {
				err := err
				if err == nil {
					_, err = m.MigrateTx(ctx, tx, dir, &rivermigrate.MigrateOpts{TargetVersion: target})
				}
				return riverSchemaErr(dir, err)
			}
		}
		up = &goose.GoFunc{RunTx: migrate(rivermigrate.DirectionUp, riverSchemaVersion)}
		down = &goose.GoFunc{RunTx: migrate(rivermigrate.DirectionDown, -1)}
	case Postgres:
		migrate := func(dir rivermigrate.Direction, target int) func(context.Context, *sql.DB) error {
			return func(ctx context.Context, p *sql.DB) error {
				m, err := rivermigrate.New(riverdatabasesql.New(p), quiet)
				if err == nil {
					_, err = m.Migrate(ctx, dir, &rivermigrate.MigrateOpts{TargetVersion: target})
				}
				return riverSchemaErr(dir, err)
			}
		}
		up = &goose.GoFunc{RunDB: migrate(rivermigrate.DirectionUp, riverSchemaVersion)}
		down = &goose.GoFunc{RunDB: migrate(rivermigrate.DirectionDown, -1)}
	default:
		return nil
	}
	return []*goose.Migration{goose.NewGoMigration(riverJobsVersion, up, down)}
}

func riverSchemaErr(dir rivermigrate.Direction, err error) error {
	if err != nil {
		return fmt.Errorf("river schema %s: %w", dir, err)
	}
	return nil
}

// sourceName is the file name of a migration; migrations written in Go
// have none, so they are named here.
func sourceName(src *goose.Source) string {
	if src.Type == goose.TypeGo && src.Version == riverJobsVersion {
		return riverJobsName
	}
	return path.Base(src.Path)
}

// PgxPool opens a pgx pool of at most maxConns connections to the same
// PostgreSQL database, with the same settings and TLS checks as the DB's
// own pool, for code that wants pgx itself (River's workers, which listen
// for new jobs with LISTEN). The caller closes it. It connects lazily.
func (db *DB) PgxPool(maxConns int32) (*pgxpool.Pool, error) {
	if db.dialect != Postgres {
		return nil, fmt.Errorf("pgx pool: the database is %s, not PostgreSQL", db.dialect)
	}
	pc, err := pgxpool.ParseConfig(db.cfg.URL)
	if err != nil {
		return nil, db.sc.Err(fmt.Errorf("pgx pool: %w", err))
	}
	pc.ConnConfig = db.pgConfig.Copy()
	pc.MaxConns = maxConns
	pc.MinConns = 0
	if db.cfg.ConnMaxAge > 0 {
		pc.MaxConnLifetime = db.cfg.ConnMaxAge
	}
	p, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, db.sc.Err(fmt.Errorf("pgx pool: %w", err))
	}
	return p, nil
}
