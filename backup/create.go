package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// Backups are named kura-<UTC time>-<engine>, their data files end in the
// engine's extension and their manifests in .json.
const (
	namePrefix  = "kura-"
	extSQLite   = ".sqlite.gz"
	extPostgres = ".pgdump"
	extMySQL    = ".sql.gz"
)

// engine is what one database engine does for backups.
type engine interface {
	dialect() sqldb.Dialect
	ext() string
	format() string
	// dump writes a consistent snapshot of the database to w, and reads
	// the snapshot's content (its tables' sums) as it does.
	dump(ctx context.Context, w io.Writer, pr *progress) (dumped, error)
	// load loads the backup in file into the empty database at url: a
	// verify's scratch database.
	load(ctx context.Context, file, url string, pr *progress) error
	// replace makes the database at to hold the backup m, all or
	// nothing: it loads the backup apart from the target's data, checks
	// it against the manifest (checkLoaded), deletes the kura_instances
	// rows it holds, and only then replaces the target's tables with the
	// backup's in one step. A failure before that step is an
	// unchangedError: the target is as it was.
	replace(ctx context.Context, m *Manifest, to string, pr *progress) error
	// scratch makes an empty database to restore into, and its drop.
	scratch(ctx context.Context, dir string) (url string, drop func(context.Context) error, err error)
	// open opens the database at url to read it.
	open(ctx context.Context, url string) (*sql.DB, func() error, error)
	// read reads the content of the database at url as dump reads it.
	read(ctx context.Context, url string, pr *progress) (*snapshot, error)
}

// dumped is what a dump learned of the database it copied.
type dumped struct {
	tool   string    // such as "pg_dump 15.19"
	server string    // the server's version
	snap   *snapshot // the snapshot's content, when read in the same snapshot
}

// snapshot is the content of a database at one moment: its tables' sums,
// its migration sets' versions and its identity ("" when it has none).
type snapshot struct {
	tables   []Table
	schema   []SchemaSet
	identity string
}

// prepare checks cfg, fills its defaults and returns the engine of its
// URL, which must be the engine of m when m is given.
func prepare(cfg Config, m *Manifest) (Config, engine, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	cfg = cfg.WithDefaults()
	eng, err := newEngine(cfg)
	if err != nil {
		return cfg, nil, err
	}
	if m != nil && string(eng.dialect()) != m.Engine {
		return cfg, nil, fmt.Errorf("backup %s is of a %s database, not %s", m.Name, m.Engine, eng.dialect())
	}
	return cfg, eng, nil
}

func newEngine(cfg Config) (engine, error) {
	d, err := sqldb.ParseDialect(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch d {
	case sqldb.SQLite:
		return &sqliteEngine{cfg: cfg}, nil
	case sqldb.Postgres:
		return &postgresEngine{cfg: cfg}, nil
	default:
		return &mysqlEngine{cfg: cfg}, nil
	}
}

// Create takes a backup of the database at cfg.URL into cfg.Dir while the
// application goes on reading and writing, and returns its manifest. On
// any failure it leaves no backup behind and deletes nothing.
func Create(ctx context.Context, cfg Config) (*Manifest, error) {
	cfg, eng, err := prepare(cfg, nil)
	if err != nil {
		return nil, err
	}
	if err := makeDir(cfg.Dir); err != nil {
		return nil, err
	}
	sweepLogged(cfg)
	src, err := sourceOf(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	start := cfg.Now().UTC()
	m := &Manifest{
		Name: uniqueName(cfg.Dir, start, eng), Engine: string(eng.dialect()), KuraVersion: cfg.KuraVersion,
		Source: src, Format: eng.format(), Started: start, dir: cfg.Dir,
	}
	m.File = m.Name + eng.ext()
	pr := newProgress(cfg.Progress)
	if err := lowPriority(func() error { return create(ctx, eng, m, cfg, pr) }); err != nil {
		cfg.Logger.Error("backup failed", "backup", m.Name, "err", err)
		return nil, fmt.Errorf("backup: %w", err)
	}
	cfg.Logger.Info("backup created", "backup", m.Name, "bytes", m.Size, "rows", m.Rows(),
		"duration", time.Duration(m.Duration*float64(time.Second)).Round(time.Millisecond))
	return m, nil
}

func create(ctx context.Context, eng engine, m *Manifest, cfg Config, pr *progress) error {
	p, err := createPartial(m.Path())
	if err != nil {
		return err
	}
	d, err := eng.dump(ctx, p, pr)
	if err != nil {
		p.Abort()
		return err
	}
	if err := p.Commit(); err != nil {
		return err
	}
	m.Tool, m.ServerVersion, m.Size, m.SHA256 = d.tool, d.server, p.n, p.SHA256()
	snap := d.snap
	m.Tables, m.Schema, m.Source.ID = snap.tables, snap.schema, snap.identity
	m.Ended = cfg.Now().UTC()
	m.Duration = m.Ended.Sub(m.Started).Seconds()
	if err := m.write(); err != nil {
		os.Remove(m.Path())
		return err
	}
	return nil
}

// uniqueName is the name of a backup started at t, with a suffix when a
// backup of that second exists.
func uniqueName(dir string, t time.Time, eng engine) string {
	base := namePrefix + t.Format("20060102T150405Z") + "-" + string(eng.dialect())
	name := base
	for i := 2; ; i++ {
		_, err1 := os.Stat(manifestPath(dir, name))
		_, err2 := os.Stat(filepath.Join(dir, name+eng.ext()))
		if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// readSnapshot reads the tables' sums, the migration sets' versions and
// the identity of the database q reads.
func readSnapshot(ctx context.Context, q querier, d sqldb.Dialect, pr *progress) (*snapshot, error) {
	tables, err := tableSums(ctx, q, d, pr)
	if err != nil {
		return nil, err
	}
	schema, err := readSchema(ctx, q, d)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	id, err := readIdentity(ctx, q, names)
	if err != nil {
		return nil, err
	}
	return &snapshot{tables: tables, schema: schema, identity: id}, nil
}

// readSchema reads the version of every migration set (goose_db_version
// and the *_schema_migrations tables) of the database q reads.
func readSchema(ctx context.Context, q querier, d sqldb.Dialect) ([]SchemaSet, error) {
	names, err := tableNames(ctx, q, d)
	if err != nil {
		return nil, err
	}
	var schema []SchemaSet
	for _, name := range names {
		if name != "goose_db_version" && !strings.HasSuffix(name, "_schema_migrations") {
			continue
		}
		var v sql.NullInt64
		rows, err := q.QueryContext(ctx, "SELECT MAX(version_id) FROM "+quote(d, name))
		if err != nil {
			return nil, fmt.Errorf("read schema version of %s: %w", name, err)
		}
		for rows.Next() {
			err = rows.Scan(&v)
		}
		rows.Close()
		if err != nil {
			return nil, err
		}
		schema = append(schema, SchemaSet{Table: name, Version: v.Int64})
	}
	return schema, nil
}

// restoreAndRead restores m into a scratch database, reads its content and
// drops it. A restore that fails is a *restoreError.
func restoreAndRead(ctx context.Context, eng engine, m *Manifest, cfg Config, pr *progress) (*snapshot, error) {
	url, drop, err := eng.scratch(ctx, cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := drop(dctx); err != nil {
			cfg.Logger.Warn("backup: could not drop the scratch database", "err", err)
		}
	}()
	if err := eng.load(ctx, m.Path(), url, pr); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &restoreError{err}
	}
	return eng.read(ctx, url, pr)
}

// readOpened reads the content of the database at url through a
// connection: SQLite's and PostgreSQL's read.
func readOpened(ctx context.Context, eng engine, url string, pr *progress) (*snapshot, error) {
	db, closeDB, err := eng.open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	return readSnapshot(ctx, db, eng.dialect(), pr)
}

// restoreError is a backup that does not restore.
type restoreError struct{ err error }

func (e *restoreError) Error() string { return "it does not restore: " + e.err.Error() }
func (e *restoreError) Unwrap() error { return e.err }
