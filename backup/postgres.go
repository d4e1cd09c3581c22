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
// own, from which the checksums are read once pg_dump is done. A restore
// runs pg_restore's script in a transaction of kura's (pgload.go).
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
// line (the URL without its password) and the password, which reaches
// them as a password file (PGPASSFILE) that is a secret: never a file in
// the backup folder, never their command line or environment. Close the
// secret, if any, once the program has exited.
func pgClient(rawURL string) (conninfo string, env []string, s *secret, err error) {
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
	if hasPassword {
		esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(password)
		if s, err = newSecret("*:*:*:*:" + esc + "\n"); err != nil {
			return "", nil, nil, err
		}
		env = []string{"PGPASSFILE=" + s.Path}
	}
	return u.String(), env, s, nil
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
	conninfo, env, sec, err := pgClient(e.cfg.URL)
	if err != nil {
		return dumped{}, err
	}
	defer sec.Close()

	// pg_dump copies the snapshot, then the checksums read it: one after
	// the other, so that the backup keeps at most one of the server's
	// cores busy, and the application the rest.
	pr.start("dump", "bytes", 0)
	args := []string{"--format=custom", "--no-password", "--snapshot=" + snapshotID, "--dbname=" + conninfo}
	if err := run(ctx, prog, child{args: args, env: env, secret: sec, stdout: pr.writer(w)}); err != nil {
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

// load restores the backup in file into the empty scratch database at to
// with pg_restore, in one transaction.
func (e *postgresEngine) load(ctx context.Context, file, to string, pr *progress) error {
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
	conninfo, env, sec, err := pgClient(to)
	if err != nil {
		return err
	}
	defer sec.Close()
	pr.start("restore", "bytes", fi.Size())
	// Ownership and grants are the target's roles' business (kura db
	// roles sets them), so they are not restored.
	args := []string{"--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password", "--dbname=" + conninfo}
	return run(ctx, prog, child{args: args, env: env, secret: sec, stdin: pr.reader(f), stdout: io.Discard})
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
