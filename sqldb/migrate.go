package sqldb

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationsFS holds the versioned schema of each engine, in
// migrations/<dialect>/NNNNN_name.sql.
//
//go:embed migrations
var migrationsFS embed.FS

// MigrationStatus is the state of one migration.
type MigrationStatus struct {
	Version   int64
	Name      string    // file name, such as "00001_users.sql"
	Applied   bool      // whether the database has it
	AppliedAt time.Time // when it was applied; zero if not applied
}

// provider returns a goose provider for the dialect's migrations on the
// writer pool. goose logs nothing (not verbose, and its logger is ours); on
// PostgreSQL a session advisory lock lets several instances migrate at once.
func (db *DB) provider() (*goose.Provider, error) {
	dir, err := fs.Sub(migrationsFS, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithSlog(db.log), goose.WithDisableGlobalRegistry(true)}
	var dialect goose.Dialect
	switch db.dialect {
	case SQLite:
		dialect = goose.DialectSQLite3
	case MySQL:
		dialect = goose.DialectMySQL
	case Postgres:
		dialect = goose.DialectPostgres
		// Poll the lock every second for up to 5 minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if gm := db.goMigrations(); len(gm) > 0 {
		opts = append(opts, goose.WithGoMigrations(gm...))
	}
	return goose.NewProvider(dialect, db.writer, dir, opts...)
}

// roomForLock lets the pool open one more connection while migrations run
// on PostgreSQL, where goose holds the advisory lock on a connection of its
// own: with a pool of one (DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0) the migrations
// would otherwise wait for the lock's connection forever. The returned
// function restores the limit.
func (db *DB) roomForLock() (restore func()) {
	limit := db.cfg.PoolSize + db.cfg.MaxOverflow
	if db.dialect != Postgres {
		return func() {}
	}
	db.writer.SetMaxOpenConns(limit + 1)
	return func() { db.writer.SetMaxOpenConns(limit) }
}

// MigrateUp applies every pending migration and logs one line per
// migration applied.
func (db *DB) MigrateUp(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	defer db.roomForLock()()
	results, err := p.Up(ctx)
	for _, r := range results {
		db.log.Info("migration applied", "version", r.Source.Version, "file", sourceName(r.Source), "duration", r.Duration)
	}
	if err != nil {
		return db.sc.Err(fmt.Errorf("migrate up: %w", err))
	}
	return nil
}

// MigrateDown rolls back the most recent applied migration, one step.
func (db *DB) MigrateDown(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	defer db.roomForLock()()
	r, err := p.Down(ctx)
	if err != nil {
		return db.sc.Err(fmt.Errorf("migrate down: %w", err))
	}
	db.log.Info("migration rolled back", "version", r.Source.Version, "file", sourceName(r.Source), "duration", r.Duration)
	return nil
}

// MigrationStatus lists every known migration in version order, with
// whether and when it was applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := db.provider()
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	list, err := p.Status(ctx)
	if err != nil {
		return nil, db.sc.Err(fmt.Errorf("migration status: %w", err))
	}
	out := make([]MigrationStatus, len(list))
	for i, s := range list {
		out[i] = MigrationStatus{
			Version:   s.Source.Version,
			Name:      sourceName(s.Source),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt.UTC(),
		}
	}
	return out, nil
}
