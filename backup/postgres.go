package backup

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// postgresEngine backs up with pg_dump in its custom (compressed) format,
// inside a snapshot exported from a repeatable-read transaction of kura's
// own, from which the checksums are read once pg_dump is done.
type postgresEngine struct{ cfg Config }

func (e *postgresEngine) dialect() sqldb.Dialect { return sqldb.Postgres }
func (e *postgresEngine) ext() string            { return extPostgres }
func (e *postgresEngine) format() string         { return "pg_dump-custom" }

const pgInstall = "install PostgreSQL's client programs (Debian: apt-get install postgresql-client)"

// libpqParams are the URL parameters libpq knows; others (pgx's own) are
// left out of what the client programs get.
var libpqParams = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "sslmode": true, "sslrootcert": true, "sslcert": true,
	"sslkey": true, "sslcrl": true, "sslcrldir": true, "sslsni": true, "sslnegotiation": true,
	"connect_timeout": true, "application_name": true, "target_session_attrs": true, "options": true,
	"channel_binding": true, "gssencmode": true, "krbsrvname": true, "service": true,
}

// pgClient splits rawURL into what libpq's programs get on their command
// line (the URL without its password) and a password file, whose path
// goes in PGPASSFILE; remove deletes it.
func pgClient(rawURL, dir string) (conninfo string, env []string, remove func(), err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, nil, fmt.Errorf("the database URL cannot be parsed")
	}
	q := u.Query()
	for k := range q {
		if !libpqParams[k] {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	password, hasPassword := "", false
	if u.User != nil {
		password, hasPassword = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	remove = func() {}
	if hasPassword {
		esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(password)
		path, rm, err := secretFile(dir, "*:*:*:*:"+esc+"\n")
		if err != nil {
			return "", nil, nil, err
		}
		env, remove = []string{"PGPASSFILE=" + path}, rm
	}
	return u.String(), env, remove, nil
}

func (e *postgresEngine) dump(ctx context.Context, w io.Writer, pr *progress) (dumped, error) {
	prog, err := findProgram(ctx, pgInstall, "pg_dump")
	if err != nil {
		return dumped{}, err
	}
	db, err := openServer(ctx, e.cfg, e.cfg.URL)
	if err != nil {
		return dumped{}, err
	}
	defer db.Close()
	tx, err := db.Writer().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return dumped{}, err
	}
	defer tx.Rollback()
	var server, snapshotID string
	if err := tx.QueryRowContext(ctx, "SELECT current_setting('server_version'), pg_export_snapshot()").Scan(&server, &snapshotID); err != nil {
		return dumped{}, fmt.Errorf("export a snapshot: %w", err)
	}
	if olderThan(prog.version, server, false) {
		return dumped{}, fmt.Errorf("pg_dump %s is older than the PostgreSQL %s server: install PostgreSQL %s's client programs (Debian: apt-get install postgresql-client-%s)",
			prog.version, server, major(server), major(server))
	}
	conninfo, env, remove, err := pgClient(e.cfg.URL, e.cfg.Dir)
	if err != nil {
		return dumped{}, err
	}
	defer remove()

	// pg_dump copies the snapshot, then the checksums read it: one after
	// the other, so that the backup keeps at most one of the server's
	// cores busy, and the application the rest.
	pr.start("dump", "bytes", 0)
	args := []string{"--format=custom", "--no-password", "--snapshot=" + snapshotID, "--dbname=" + conninfo}
	if err := run(ctx, prog, args, env, nil, pr.writer(w)); err != nil {
		return dumped{}, err
	}
	snap, err := readSnapshot(ctx, tx, sqldb.Postgres, pr)
	if err != nil {
		return dumped{}, err
	}
	return dumped{tool: "pg_dump " + prog.version, server: server, snap: snap}, nil
}

func major(v string) string {
	if p := parts(v); p != nil {
		return fmt.Sprint(p[0])
	}
	return v
}

func (e *postgresEngine) restore(ctx context.Context, file, to string, clean bool, pr *progress) error {
	prog, err := findProgram(ctx, pgInstall, "pg_restore")
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	conninfo, env, remove, err := pgClient(to, e.cfg.Dir)
	if err != nil {
		return err
	}
	defer remove()
	pr.start("restore", "bytes", fi.Size())
	// One transaction: a restore that fails leaves the database as empty
	// as it was. Ownership and grants are the target's roles' business
	// (kura db roles sets them), so they are not restored.
	args := []string{"--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password", "--dbname=" + conninfo}
	if clean {
		args = append(args, "--clean", "--if-exists")
	}
	return run(ctx, prog, args, env, pr.reader(f), io.Discard)
}

func (e *postgresEngine) scratch(ctx context.Context, _ string) (string, func(context.Context) error, error) {
	return makeScratch(ctx, e.cfg,
		func(name string) string { return `CREATE DATABASE "` + name + `"` },
		func(name string) string { return `DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)` }, nil)
}

func (e *postgresEngine) read(ctx context.Context, to string, pr *progress) (*snapshot, error) {
	return readOpened(ctx, e, to, pr)
}

func (e *postgresEngine) open(ctx context.Context, to string) (*sql.DB, func() error, error) {
	return openForRead(ctx, e.cfg, to)
}
