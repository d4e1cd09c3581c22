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

// RestoreOptions says where Restore writes and whether it may replace.
type RestoreOptions struct {
	// To is the URL of the database to restore into: a SQLite file that
	// does not exist or is empty, or an existing, empty PostgreSQL or MySQL
	// database of the backup's engine.
	To string

	// Force allows restoring over a database that holds tables: on SQLite
	// the file is replaced at once (a rename); on PostgreSQL the backup's
	// objects are dropped and recreated in one transaction; on MySQL the
	// dump drops and recreates each of its tables. Even with Force, a
	// database that a kura server is serving is refused.
	Force bool
}

// ErrServing is returned when a restore's target is in use by a kura
// server.
var ErrServing = errors.New("a kura server is serving this database")

// Restore loads the backup m into the database opts.To, after checking
// its sha256, then compares the restored tables with the manifest. cfg
// gives the backup folder and the progress callback; its URL is not used.
func Restore(ctx context.Context, m *Manifest, cfg Config, opts RestoreOptions) error {
	cfg.URL, cfg.ScratchURL = opts.To, opts.To // a restore makes no scratch database
	cfg, eng, err := prepare(cfg, m)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	pr := newProgress(cfg.Progress)
	if err := checkFile(ctx, m, pr); err != nil {
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	existing, err := targetTables(ctx, eng, cfg, opts.To)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(existing.tables) > 0 {
		if !opts.Force {
			return fmt.Errorf("restore: the target database holds %d tables (%s): restore into a new or empty database, or pass --force to replace its content",
				len(existing.tables), short(existing.tables))
		}
		if len(existing.serving) > 0 {
			return fmt.Errorf("restore: %w (%s, seen in the last %s): stop it first", ErrServing, strings.Join(existing.serving, ", "), sqldb.ServingWindow)
		}
	}
	if err := lowPriority(func() error { return eng.restore(ctx, m.Path(), opts.To, len(existing.tables) > 0, pr) }); err != nil {
		return fmt.Errorf("restore %s: %w", m.Name, err)
	}
	got, err := eng.read(ctx, opts.To, pr)
	if err != nil {
		return fmt.Errorf("restore %s: read back: %w", m.Name, err)
	}
	if diff := compareRestored(m.Tables, got.tables); diff != "" {
		return fmt.Errorf("restore %s: the restored database differs from the manifest: %s", m.Name, diff)
	}
	cfg.Logger.Info("backup restored", "backup", m.Name, "tables", len(m.Tables), "rows", m.Rows())
	return nil
}

// compareRestored compares the tables the backup holds; tables of the
// target that the backup does not hold (a restore with Force keeps them)
// are left out.
func compareRestored(want, got []Table) string {
	names := make(map[string]bool, len(want))
	for _, t := range want {
		names[t.Name] = true
	}
	var mine []Table
	for _, t := range got {
		if names[t.Name] {
			mine = append(mine, t)
		}
	}
	return compareSums(want, mine)
}

func short(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// target is what a restore's target database holds: its tables and the
// kura servers that serve it.
type target struct {
	tables  []string
	serving []string
}

func targetTables(ctx context.Context, eng engine, cfg Config, to string) (target, error) {
	if eng.dialect() == sqldb.SQLite {
		path, err := sqldb.SQLitePath(to)
		if err != nil {
			return target{}, err
		}
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0) {
			return target{}, nil
		}
		if err != nil {
			return target{}, err
		}
	}
	db, closeDB, err := eng.open(ctx, to)
	if err != nil {
		return target{}, fmt.Errorf("open the target database (create it first, empty): %w", err)
	}
	defer closeDB()
	names, err := tableNames(ctx, db, eng.dialect())
	if err != nil {
		return target{}, err
	}
	var t target
	t.tables = names
	for _, n := range names {
		if n == sqldb.InstancesTable {
			if t.serving, err = sqldb.Serving(ctx, db, time.Now(), sqldb.ServingWindow); err != nil {
				return target{}, err
			}
		}
	}
	return t, nil
}
