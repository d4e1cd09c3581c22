package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// RestoreOptions says where Restore writes and what it may replace.
type RestoreOptions struct {
	// To is the URL of the database to restore into: a SQLite file, or an
	// existing PostgreSQL or MySQL database of the backup's engine.
	To string

	// Force allows restoring over a database that holds tables: its
	// tables are replaced by the backup's, all at once, after the backup
	// was loaded apart and matched its manifest. Even with Force, a
	// database that a kura server is serving is refused.
	Force bool

	// OtherDatabase allows restoring over a database that holds kura's
	// tables of another database than the backup's source: another
	// identity (Source.ID), or, when either has none, another engine,
	// address or name. Without it such a restore is refused, Force or
	// not. An empty target, or one without kura's tables, needs no such
	// leave.
	OtherDatabase bool

	// Inspected, if set, is called with the backup's source and the
	// target as found, before Restore refuses or changes anything.
	Inspected func(source Source, target Target)
}

// ErrServing is returned when a restore's target is in use by a kura
// server.
var ErrServing = errors.New("a kura server is serving this database")

// ErrOtherDatabase is returned when a restore's target holds another
// database than the backup's source, and RestoreOptions.OtherDatabase is
// not set.
var ErrOtherDatabase = errors.New("the target holds another database than the backup's source")

// Target is what a restore is about to replace: the database, its
// identity (ID, empty when it has none) and what it holds.
type Target struct {
	Source
	Tables  int      `json:"tables"`            // how many tables it holds
	Kura    bool     `json:"kura"`              // whether they are kura's (goose_db_version is there)
	Serving []string `json:"serving,omitempty"` // the kura servers seen serving it
}

// State says in words what the target holds: "empty", "no kura tables (3
// tables)", "kura's tables, no identity (12 tables)" or "identity … (12
// tables)".
func (t Target) State() string {
	switch {
	case t.Tables == 0:
		return "empty"
	case !t.Kura:
		return fmt.Sprintf("no kura tables (%d tables)", t.Tables)
	case t.ID == "":
		return fmt.Sprintf("kura's tables, no identity (%d tables)", t.Tables)
	}
	return fmt.Sprintf("identity %s (%d tables)", t.ID, t.Tables)
}

// String describes t in one line.
func (t Target) String() string {
	where := t.Engine + " " + t.Address + " database " + t.Database
	if t.Engine == string(sqldb.SQLite) {
		where = "sqlite file " + t.Database + " on " + t.Address
	}
	return where + ", " + t.State()
}

// holdsSource says whether the target may take the backup of src without
// OtherDatabase: it is empty, holds no kura tables, or holds the same
// database (the same identity; by engine, address and name when either
// side has none).
func (t Target) holdsSource(src Source) bool {
	switch {
	case t.Tables == 0 || !t.Kura:
		return true
	case src.ID != "" && t.ID != "":
		return src.ID == t.ID
	}
	return src.sameServer(t.Source)
}

// Restore loads the backup m into the database opts.To, all or nothing:
// it checks the data file's sha256, looks at the target and refuses what
// opts do not allow, then loads the backup apart from the target's data
// (a file beside it on SQLite, one transaction on PostgreSQL, a scratch
// database on the same server on MySQL), compares every table's row count
// and checksum with the manifest, deletes the source's kura_instances
// rows, and only then replaces the target's content in one step (a
// rename, a commit, one RENAME TABLE). A failure or a kill at any point
// before leaves the target as it was, and the error says so. cfg gives the
// backup folder and the progress callback; its URL is not used.
func Restore(ctx context.Context, m *Manifest, cfg Config, opts RestoreOptions) error {
	cfg.URL, cfg.ScratchURL = opts.To, opts.To
	cfg, eng, err := prepare(cfg, m)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := os.Stat(cfg.Dir); err == nil {
		sweepLogged(cfg)
	}
	pr := newProgress(cfg.Progress)
	if err := checkFile(ctx, m, pr); err != nil {
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	dst, err := inspect(ctx, eng, cfg, opts.To)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if opts.Inspected != nil {
		opts.Inspected(m.Source, dst)
	}
	if err := allowed(m, dst, opts); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := lowPriority(func() error { return eng.replace(ctx, m, opts.To, pr) }); err != nil {
		cfg.Logger.Error("backup restore failed", "backup", m.Name, "err", err)
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	cfg.Logger.Info("backup restored", "backup", m.Name, "tables", len(m.Tables), "rows", m.Rows())
	return nil
}

// allowed says why opts do not allow restoring m over dst, or nil.
func allowed(m *Manifest, dst Target, opts RestoreOptions) error {
	if len(dst.Serving) > 0 {
		return fmt.Errorf("%w (%s, seen in the last %s): stop it first", ErrServing, strings.Join(dst.Serving, ", "), sqldb.ServingWindow)
	}
	if !opts.OtherDatabase && !dst.holdsSource(m.Source) {
		flags := "--other-database"
		if !opts.Force {
			flags = "--force --other-database"
		}
		return fmt.Errorf("%w: the target is %s; backup %s is of %s. Check the target (--to-env, --to); to replace that database with this backup anyway, pass %s",
			ErrOtherDatabase, dst, m.Name, m.Source, flags)
	}
	if dst.Tables > 0 && !opts.Force {
		return fmt.Errorf("the target database holds %d tables: restore into a new or empty database, or pass --force to replace its content",
			dst.Tables)
	}
	return nil
}

// inspect looks at the database a restore would replace.
func inspect(ctx context.Context, eng engine, cfg Config, to string) (Target, error) {
	src, err := sourceOf(to)
	if err != nil {
		return Target{}, err
	}
	t := Target{Source: src}
	if eng.dialect() == sqldb.SQLite {
		fi, err := os.Stat(src.Database)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0) {
			return t, nil
		}
		if err != nil {
			return Target{}, err
		}
	}
	db, closeDB, err := eng.open(ctx, to)
	if err != nil {
		return Target{}, fmt.Errorf("open the target database (create it first, empty): %w", err)
	}
	defer closeDB()
	names, err := tableNames(ctx, db, eng.dialect())
	if err != nil {
		return Target{}, err
	}
	t.Tables, t.Kura = len(names), contains(names, "goose_db_version")
	if t.ID, err = readIdentity(ctx, db, names); err != nil {
		return Target{}, err
	}
	if contains(names, sqldb.InstancesTable) {
		if t.Serving, err = sqldb.Serving(ctx, db, time.Now(), sqldb.ServingWindow); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// unchangedError is a restore that failed before it replaced anything:
// the target is as it was.
type unchangedError struct{ err error }

func (e *unchangedError) Error() string {
	return e.err.Error() + " (nothing was replaced: the target database is as it was)"
}
func (e *unchangedError) Unwrap() error { return e.err }

// unchanged wraps err, if any, as an unchangedError.
func unchanged(err error) error {
	if err == nil {
		return nil
	}
	var u *unchangedError
	if errors.As(err, &u) {
		return err
	}
	return &unchangedError{err}
}

// checkLoaded compares the content of a loaded copy with the manifest.
func checkLoaded(m *Manifest, got *snapshot) error {
	if diff := compareSums(m.Tables, got.tables); diff != "" {
		return fmt.Errorf("the loaded copy differs from the manifest: %s", diff)
	}
	return nil
}
