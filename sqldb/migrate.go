package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrations is one set of versioned schema changes with a history of its
// own: kura's tables (store.Schema), the job queue's (jobs.Schema) and an
// application's own are each a set. A set records which of its versions are
// applied in its own table, so two sets never disturb each other's
// versions: an application's version 1 is not kura's version 1. Sets are
// applied in the order they are given to MigrateUp, kura's first.
//
// A set is written once per engine: FS holds the directories sqlite/,
// postgres/ and mysql/, each with goose SQL files named NNNNN_name.sql
// (annotated with -- +goose Up and -- +goose Down), usually embedded:
//
//	//go:embed migrations
//	var migrationsFS embed.FS
//
//	var Schema = &sqldb.Migrations{Name: "notes", FS: sqldb.SubFS(migrationsFS, "migrations")}
type Migrations struct {
	// Name identifies the set in logs and in MigrationStatus: short,
	// lower case letters, digits and underscores. Required.
	Name string

	// Table is the table that records the set's applied versions. Empty
	// means Name + "_schema_migrations". Once a database has it, it must
	// not change.
	Table string

	// FS holds the set's SQL migrations, in one directory per engine named
	// after its Dialect ("sqlite", "postgres", "mysql"). An engine's
	// directory may be missing when Go holds all its migrations.
	FS fs.FS

	// Go, if set, returns the migrations of the set that are written in Go
	// for the engine (nil for none). A version is either a file or Go.
	Go func(d Dialect) []GoMigration
}

// GoMigration is one version of a set written in Go, for a change SQL
// cannot express, such as running another library's own migrator.
// Set either the Tx pair, which runs in the migration's transaction (on
// SQLite, on the writer's one connection), or the DB pair, which runs
// outside any transaction on the writer pool.
type GoMigration struct {
	Version int64
	// Name is shown by MigrationStatus, such as "00001_river.go".
	Name         string
	UpTx, DownTx func(ctx context.Context, tx *sql.Tx) error
	UpDB, DownDB func(ctx context.Context, db *sql.DB) error
}

// SubFS returns the subtree of fsys at dir, for a Migrations.FS made from
// an embed.FS that holds the engines' directories under dir. It panics if
// dir is not a valid path, which is a programming error. The subtree
// remembers dir, so that a set that finds no migrations names the folder
// it looked in as the embed.FS has it ("migrations/postgres").
func SubFS(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("sqldb: SubFS(%q): %v", dir, err))
	}
	return subFS{sub, path.Join(folder(fsys), dir)}
}

// subFS is a subtree of an FS that knows its path in the FS it came from.
type subFS struct {
	fs.FS
	dir string
}

func (s subFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(s.FS, name) }
func (s subFS) ReadFile(name string) ([]byte, error)       { return fs.ReadFile(s.FS, name) }
func (s subFS) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(s.FS, name) }
func (s subFS) Sub(dir string) (fs.FS, error)              { return SubFS(s.FS, dir), nil }

// folder returns the path of fsys in the FS it came from: "" for one that
// did not come from SubFS.
func folder(fsys fs.FS) string {
	if s, ok := fsys.(subFS); ok {
		return s.dir
	}
	return ""
}

// noMigrations explains a set in which goose found nothing to apply for
// the engine: the set, the folder it looked in and what the set's FS holds
// instead, which is usually the mistake (a folder named otherwise, or an
// embed.FS passed without SubFS).
func (db *DB) noMigrations(m *Migrations, dir fs.FS) error {
	where := folder(dir)
	if where == "" {
		where = string(db.dialect)
	}
	found := "the set has no FS"
	if m.FS != nil {
		var names []string
		entries, _ := fs.ReadDir(m.FS, ".")
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() {
				n += "/"
			}
			names = append(names, n)
		}
		found = "found: " + strings.Join(names, ", ")
		if len(names) == 0 {
			found = "the set's FS is empty"
		}
	}
	return fmt.Errorf("migration set %q: no migrations for %s in folder %q (%s)", m.Name, db.dialect, where, found)
}

var setName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// HistoryTable returns the table that records the set's applied versions.
func (m *Migrations) HistoryTable() string { return m.table() }

// table returns the set's history table.
func (m *Migrations) table() string {
	if m.Table != "" {
		return m.Table
	}
	return m.Name + "_schema_migrations"
}

// MigrationStatus is the state of one migration.
type MigrationStatus struct {
	Set       string // the name of its Migrations
	Version   int64
	Name      string    // file name, such as "00001_users.sql"
	Applied   bool      // whether the database has it
	AppliedAt time.Time // when it was applied; zero if not applied
}

// migrationSet is a set bound to a database: its goose provider and the
// names of its Go migrations.
type migrationSet struct {
	*Migrations
	p       *goose.Provider
	goNames map[int64]string
}

// provider returns a goose provider for the set's migrations of the
// dialect, on the writer pool. goose logs nothing (not verbose, and its
// logger is ours); on PostgreSQL a session advisory lock lets several
// instances migrate at once.
func (db *DB) provider(m *Migrations) (*migrationSet, error) {
	if m == nil || !setName.MatchString(m.Name) {
		return nil, errors.New("a set of migrations needs a Name of lower-case letters, digits and underscores")
	}
	dir := fs.FS(emptyFS{})
	if m.FS != nil {
		dir = SubFS(m.FS, string(db.dialect))
	}
	opts := []goose.ProviderOption{goose.WithSlog(db.log), goose.WithDisableGlobalRegistry(true), goose.WithTableName(m.table())}
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
	s := &migrationSet{Migrations: m, goNames: map[int64]string{}}
	if m.Go != nil {
		var gms []*goose.Migration
		for _, g := range m.Go(db.dialect) {
			up, down := &goose.GoFunc{RunTx: g.UpTx, RunDB: g.UpDB}, &goose.GoFunc{RunTx: g.DownTx, RunDB: g.DownDB}
			gms = append(gms, goose.NewGoMigration(g.Version, up, down))
			s.goNames[g.Version] = g.Name
		}
		if len(gms) > 0 {
			opts = append(opts, goose.WithGoMigrations(gms...))
		}
	}
	p, err := goose.NewProvider(dialect, db.writer, dir, opts...)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil, db.noMigrations(m, dir)
	}
	if err != nil {
		return nil, err
	}
	s.p = p
	return s, nil
}

// emptyFS is a set's directory of an engine that has no SQL files.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// sourceName is the file name of a migration; a migration written in Go
// has the name its GoMigration gives.
func (s *migrationSet) sourceName(src *goose.Source) string {
	if src.Type == goose.TypeGo {
		if n := s.goNames[src.Version]; n != "" {
			return n
		}
		return fmt.Sprintf("%05d.go", src.Version)
	}
	return path.Base(src.Path)
}

// providers returns the providers of sets, which must not be empty.
func (db *DB) providers(sets []*Migrations) ([]*migrationSet, error) {
	if len(sets) == 0 {
		return nil, errors.New("no migrations given (kura's own are store.Schema)")
	}
	out := make([]*migrationSet, 0, len(sets))
	seen := map[string]bool{}
	for _, m := range sets {
		s, err := db.provider(m)
		if err != nil {
			return nil, err
		}
		if seen[s.Name] || seen["table:"+s.table()] {
			return nil, fmt.Errorf("two sets of migrations share the name %q or the table %q", s.Name, s.table())
		}
		seen[s.Name], seen["table:"+s.table()] = true, true
		out = append(out, s)
	}
	return out, nil
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

// MigrateUp applies every pending migration of each set, the sets in the
// order given (kura's store.Schema first, then jobs.Schema, then an
// application's), and logs one line per migration applied. On PostgreSQL
// each set is applied under an advisory lock, so instances that start
// together apply it once.
func (db *DB) MigrateUp(ctx context.Context, sets ...*Migrations) error {
	ps, err := db.providers(sets)
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	defer db.roomForLock()()
	for _, s := range ps {
		results, err := s.p.Up(ctx)
		for _, r := range results {
			db.log.Info("migration applied", "set", s.Name, "version", r.Source.Version,
				"file", s.sourceName(r.Source), "duration", r.Duration)
		}
		if err != nil {
			return db.sc.Err(fmt.Errorf("migrate up %s: %w", s.Name, err))
		}
	}
	return nil
}

// MigrateDown rolls back one step: the most recent applied migration of
// the last of the sets that has any applied (sets are undone in the
// reverse of the order they are applied).
func (db *DB) MigrateDown(ctx context.Context, sets ...*Migrations) error {
	ps, err := db.providers(sets)
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	defer db.roomForLock()()
	for i := len(ps) - 1; i >= 0; i-- {
		s := ps[i]
		v, err := s.p.GetDBVersion(ctx)
		if err != nil {
			return db.sc.Err(fmt.Errorf("migrate down %s: %w", s.Name, err))
		}
		if v == 0 {
			continue
		}
		r, err := s.p.Down(ctx)
		if err != nil {
			return db.sc.Err(fmt.Errorf("migrate down %s: %w", s.Name, err))
		}
		db.log.Info("migration rolled back", "set", s.Name, "version", r.Source.Version,
			"file", s.sourceName(r.Source), "duration", r.Duration)
		return nil
	}
	return errors.New("migrate down: no migration is applied")
}

// MigrationStatus lists every known migration of each set, the sets in
// the order given and each in version order, with whether and when it was
// applied. It changes nothing.
func (db *DB) MigrationStatus(ctx context.Context, sets ...*Migrations) ([]MigrationStatus, error) {
	ps, err := db.providers(sets)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	var out []MigrationStatus
	for _, s := range ps {
		// goose creates a set's history table when it asks for the
		// status; a set never applied is listed from its sources instead,
		// so that asking changes nothing.
		exists, err := db.tableExists(ctx, s.table())
		if err != nil {
			return nil, db.sc.Err(fmt.Errorf("migration status %s: %w", s.Name, err))
		}
		if !exists {
			for _, src := range s.p.ListSources() {
				out = append(out, MigrationStatus{Set: s.Name, Version: src.Version, Name: s.sourceName(src)})
			}
			continue
		}
		list, err := s.p.Status(ctx)
		if err != nil {
			return nil, db.sc.Err(fmt.Errorf("migration status %s: %w", s.Name, err))
		}
		for _, st := range list {
			out = append(out, MigrationStatus{
				Set:       s.Name,
				Version:   st.Source.Version,
				Name:      s.sourceName(st.Source),
				Applied:   st.State == goose.StateApplied,
				AppliedAt: st.AppliedAt.UTC(),
			})
		}
	}
	return out, nil
}

// tableExists reports whether the current database (on PostgreSQL: the
// search path) has a table of that name.
func (db *DB) tableExists(ctx context.Context, name string) (bool, error) {
	return HasTable(ctx, db.dialect, db.reader, name)
}

// HasTable reports whether the database q reads, of engine d, has a table
// of that name (on PostgreSQL: in the search path), with one query of its
// catalog: for a package that checks its schema was applied, as jobs.New
// does.
func HasTable(ctx context.Context, d Dialect, q Querier, name string) (bool, error) {
	var query string
	switch d {
	case SQLite:
		query = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	case Postgres:
		query = "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = $1 AND schemaname = ANY (current_schemas(false))"
	case MySQL:
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	default:
		return false, fmt.Errorf("unknown engine %q", d)
	}
	var n int
	err := q.QueryRowContext(ctx, query, name).Scan(&n)
	return n > 0, err
}
