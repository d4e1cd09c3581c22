package backup

import (
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// sqliteEngine backs up a SQLite file with VACUUM INTO from a read-only
// connection of its own: a consistent snapshot of the last committed
// state (WAL mode lets the writer go on), compacted, then gzip-compressed.
type sqliteEngine struct{ cfg Config }

func (e *sqliteEngine) dialect() sqldb.Dialect { return sqldb.SQLite }
func (e *sqliteEngine) ext() string            { return extSQLite }
func (e *sqliteEngine) format() string         { return "sqlite+gzip" }

// sqliteReadOnly opens the file at path read-only, waiting up to 5s on a
// lock, with times read as kura writes them.
func sqliteReadOnly(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	// synchronous(OFF): VACUUM INTO writes its copy with the connection's
	// setting, and the copy is compressed and deleted, never kept: syncing
	// it would only compete with the application's own syncs.
	db, err := sql.Open("sqlite", u+"?mode=ro&_time_format=sqlite&_pragma=busy_timeout(5000)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func (e *sqliteEngine) source() (string, error) {
	path, err := sqldb.SQLitePath(e.cfg.URL)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no database file at %s", path)
	}
	if err != nil {
		return "", err
	}
	if fi.Size() == 0 {
		return "", fmt.Errorf("the database file %s is empty", path)
	}
	return path, nil
}

func (e *sqliteEngine) dump(ctx context.Context, w io.Writer, pr *progress) (dumped, error) {
	path, err := e.source()
	if err != nil {
		return dumped{}, err
	}
	src, err := sqliteReadOnly(path)
	if err != nil {
		return dumped{}, err
	}
	defer src.Close()
	var version string
	var pages, pageSize int64
	if err := src.QueryRowContext(ctx, "SELECT sqlite_version(), (SELECT page_count FROM pragma_page_count()), (SELECT page_size FROM pragma_page_size())").Scan(&version, &pages, &pageSize); err != nil {
		return dumped{}, fmt.Errorf("read %s: %w", path, err)
	}
	// VACUUM INTO writes into a new or empty file: make it first, so that
	// it is the owner's only from the start, and locked as this process's
	// for Sweep.
	f, err := createTemp(e.cfg.Dir, tempPrefix+"snapshot-"+filepath.Base(path)+"-*")
	if err != nil {
		return dumped{}, fmt.Errorf("create snapshot file: %w", err)
	}
	snapPath := f.Name()
	defer f.Close()
	defer removeSQLite(snapPath)

	pr.start("snapshot", "bytes", pages*pageSize)
	stop := watchSize(snapPath, pr)
	_, err = src.ExecContext(ctx, "VACUUM INTO ?", snapPath)
	stop()
	if err != nil {
		return dumped{}, fmt.Errorf("snapshot with VACUUM INTO: %w", err)
	}
	snapDB, err := sqliteReadOnly(snapPath)
	if err != nil {
		return dumped{}, err
	}
	snap, err := readSnapshot(ctx, snapDB, sqldb.SQLite, pr)
	snapDB.Close()
	if err != nil {
		return dumped{}, err
	}
	if err := gzipFile(ctx, w, snapPath, pr); err != nil {
		return dumped{}, err
	}
	return dumped{tool: "sqlite " + version + " VACUUM INTO", server: version, snap: snap}, nil
}

// watchSize reports the size of the file at path as progress until stop
// is called.
func watchSize(path string, pr *progress) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if fi, err := os.Stat(path); err == nil {
					pr.set(fi.Size())
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// gzipFile compresses the file at path into w.
func gzipFile(ctx context.Context, w io.Writer, path string, pr *progress) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pr.start("compress", "bytes", fi.Size())
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zw, pr.reader(&pacedReader{ctx: ctx, r: f})); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	return nil
}

// removeSQLite removes a SQLite file and its -wal and -shm files.
func removeSQLite(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}

// decompress writes the backup in file, decompressed and checked
// (quick_check), to a partial file beside the file at path.
func (e *sqliteEngine) decompress(ctx context.Context, file, path string, pr *progress) (*partial, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create folder: %w", err)
	}
	p, err := createPartial(path)
	if err != nil {
		return nil, err
	}
	if err := gunzipInto(ctx, p, file, pr); err != nil {
		p.Abort()
		return nil, err
	}
	if err := checkSQLite(ctx, p.f.Name()); err != nil {
		p.Abort()
		return nil, err
	}
	return p, nil
}

// load decompresses the backup into the scratch file at to, which
// scratch made (and holds locked for Sweep), and checks it.
func (e *sqliteEngine) load(ctx context.Context, file, to string, pr *progress) error {
	path, err := sqldb.SQLitePath(to)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := gunzipInto(ctx, out, file, pr); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return checkSQLite(ctx, path)
}

// gunzipInto decompresses the file at file into w.
func gunzipInto(ctx context.Context, w io.Writer, file string, pr *progress) error {
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	pr.start("restore", "bytes", fi.Size())
	zr, err := gzip.NewReader(pr.reader(&pacedReader{ctx: ctx, r: in}))
	if err != nil {
		return fmt.Errorf("%s is not a gzip file: %w", filepath.Base(file), err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	if err := zr.Close(); err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	return nil
}

// replace decompresses the backup beside the target, checks it and
// renames it over the target: the rename is the one step that replaces.
func (e *sqliteEngine) replace(ctx context.Context, m *Manifest, to string, pr *progress) error {
	path, err := sqldb.SQLitePath(to)
	if err != nil {
		return unchanged(err)
	}
	sweepPartials(filepath.Dir(path), tempPrefix+filepath.Base(path)+"-", e.cfg)
	p, err := e.decompress(ctx, m.Path(), path, pr)
	if err != nil {
		return unchanged(err)
	}
	defer p.Abort()
	got, err := readOpened(ctx, e, p.f.Name(), pr)
	if err != nil {
		return unchanged(fmt.Errorf("read the loaded copy: %w", err))
	}
	if err := checkLoaded(m, got); err != nil {
		return unchanged(err)
	}
	if err := clearInstances(ctx, p.f.Name()); err != nil {
		return unchanged(err)
	}
	// The target's -wal (and -shm) belong to its content: left beside the
	// new file they would be read as part of it, and removed before the
	// rename they would take committed writes with them. Folding the WAL
	// into the file first makes removing it lose nothing.
	if err := settle(ctx, path); err != nil {
		return unchanged(err)
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return unchanged(err)
		}
	}
	return p.Commit()
}

// clearInstances deletes the kura_instances rows of the SQLite file at
// path: the servers of the backup's source do not serve its copy.
func clearInstances(ctx context.Context, path string) error {
	db, err := sqliteWritable(path)
	if err != nil {
		return err
	}
	defer db.Close()
	names, err := tableNames(ctx, db, sqldb.SQLite)
	if err != nil {
		return err
	}
	if !contains(names, sqldb.InstancesTable) {
		return nil
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM "+sqldb.InstancesTable); err != nil {
		return fmt.Errorf("clear kura_instances of the loaded copy: %w", err)
	}
	return nil
}

// settle folds the WAL of the SQLite file at path, if any, into the file
// and turns WAL mode off, so that the file alone holds its content. It
// needs the file to itself: a process that has it open fails it. A file
// that is not a database (damaged, or none yet) has nothing to fold.
func settle(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	db, err := sqliteWritable(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var mode string
	err = db.QueryRowContext(ctx, "PRAGMA journal_mode = DELETE").Scan(&mode)
	switch {
	case err != nil && busy(err):
		return fmt.Errorf("another process has the database file open: stop it first (%v)", err)
	case err != nil:
		return nil // not a database: nothing of it to keep
	case !strings.EqualFold(mode, "delete"):
		return fmt.Errorf("another process has the database file open (its journal stays %s): stop it first", mode)
	}
	return nil
}

func busy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "locked") || strings.Contains(s, "BUSY")
}

// sqliteWritable opens the SQLite file at path to write it, waiting up to
// 5s on a lock.
func sqliteWritable(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	db, err := sql.Open("sqlite", u+"?_time_format=sqlite&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checkSQLite runs quick_check on the file at path.
func checkSQLite(ctx context.Context, path string) error {
	db, err := sqliteReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var res []string
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if res, err = scanStrings(rows, err); err != nil {
		return fmt.Errorf("check the restored file: %w", err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return fmt.Errorf("the restored file fails its integrity check: %s", strings.Join(res, "; "))
	}
	return nil
}

func (e *sqliteEngine) scratch(_ context.Context, dir string) (string, func(context.Context) error, error) {
	f, err := createTemp(dir, tempPrefix+"verify-*.sqlite")
	if err != nil {
		return "", nil, fmt.Errorf("create scratch file: %w", err)
	}
	path := f.Name()
	return "sqlite:" + path, func(context.Context) error { removeSQLite(path); f.Close(); return nil }, nil
}

func (e *sqliteEngine) read(ctx context.Context, to string, pr *progress) (*snapshot, error) {
	return readOpened(ctx, e, to, pr)
}

func (e *sqliteEngine) open(_ context.Context, to string) (*sql.DB, func() error, error) {
	path, err := sqldb.SQLitePath(to)
	if err != nil {
		return nil, nil, err
	}
	db, err := sqliteReadOnly(path)
	if err != nil {
		return nil, nil, err
	}
	return db, db.Close, nil
}
