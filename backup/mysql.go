package backup

import (
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// mysqlEngine backs up with mariadb-dump (or mysqldump)
// --single-transaction, a consistent InnoDB snapshot that never locks
// writers, gzip-compressed. The dump's snapshot cannot be shared with a
// transaction of kura's, so the row counts and checksums are read from the
// dump itself as it is written (dumpSums), and a verify or a restore reads
// them back from a dump of the restored database.
type mysqlEngine struct{ cfg Config }

func (e *mysqlEngine) dialect() sqldb.Dialect { return sqldb.MySQL }
func (e *mysqlEngine) ext() string            { return extMySQL }
func (e *mysqlEngine) format() string         { return "sql+gzip" }

const myInstall = "install MariaDB's client programs (Debian: apt-get install mariadb-client) or MySQL's"

// myOptions returns the client options of rawURL (account, password,
// server, TLS), as sqldb reads them, as a secret for the programs'
// --defaults-extra-file, and the URL's database. Close the secret once the
// program has exited.
func myOptions(rawURL string) (s *secret, database string, err error) {
	mc, err := sqldb.MySQLConfig(rawURL)
	if err != nil {
		return nil, "", err
	}
	quoted := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
	}
	var b strings.Builder
	b.WriteString("[client]\n")
	if mc.User != "" {
		fmt.Fprintf(&b, "user=%s\n", quoted(mc.User))
	}
	if mc.Passwd != "" {
		fmt.Fprintf(&b, "password=%s\n", quoted(mc.Passwd))
	}
	if mc.Net == "unix" {
		fmt.Fprintf(&b, "socket=%s\n", quoted(mc.Addr))
	} else {
		host, port, err := net.SplitHostPort(mc.Addr)
		if err != nil {
			return nil, "", fmt.Errorf("the database URL's address: %w", err)
		}
		fmt.Fprintf(&b, "host=%s\nport=%s\nprotocol=TCP\n", quoted(host), port)
	}
	switch strings.ToLower(mc.TLSConfig) {
	case "", "false":
	case "skip-verify", "preferred":
		b.WriteString("ssl\n")
	default: // true, or a registered configuration: verify the server
		b.WriteString("ssl\nssl-verify-server-cert\n")
	}
	if s, err = newSecret(b.String()); err != nil {
		return nil, "", err
	}
	return s, mc.DBName, nil
}

func (e *mysqlEngine) dump(ctx context.Context, w io.Writer, pr *progress) (dumped, error) {
	prog, err := findProgram(ctx, myInstall, "mariadb-dump", "mysqldump")
	if err != nil {
		return dumped{}, err
	}
	sweepMySQL(ctx, e.cfg, e.cfg.URL)
	server, snap, err := e.serverAndSchema(ctx)
	if err != nil {
		return dumped{}, err
	}
	if olderThan(prog.version, server, true) {
		return dumped{}, fmt.Errorf("%s %s is older than the %s server: %s at version %s or later",
			prog.name, prog.version, server, myInstall, strings.Join(strings.SplitN(server, ".", 3)[:2], "."))
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return dumped{}, err
	}
	sums := newDumpSums()
	pr.start("dump", "bytes", 0)
	if err := e.runDump(ctx, prog, e.cfg.URL, io.MultiWriter(zw, sums, pr.writer(io.Discard))); err != nil {
		return dumped{}, err
	}
	if err := zw.Close(); err != nil {
		return dumped{}, err
	}
	snap.tables = sums.sums()
	return dumped{tool: prog.name + " " + prog.version, server: server, snap: snap}, nil
}

// serverAndSchema reads the server's version, the migration sets'
// versions and the identity, just before the dump: a migration does not
// run during a backup.
func (e *mysqlEngine) serverAndSchema(ctx context.Context) (string, *snapshot, error) {
	db, err := openServer(ctx, e.cfg, e.cfg.URL)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	var server string
	if err := db.Writer().QueryRowContext(ctx, "SELECT VERSION()").Scan(&server); err != nil {
		return "", nil, err
	}
	schema, err := readSchema(ctx, db.Writer(), sqldb.MySQL)
	if err != nil {
		return "", nil, err
	}
	names, err := tableNames(ctx, db.Writer(), sqldb.MySQL)
	if err != nil {
		return "", nil, err
	}
	id, err := readIdentity(ctx, db.Writer(), names)
	if err != nil {
		return "", nil, err
	}
	return server, &snapshot{schema: schema, identity: id}, nil
}

// runDump dumps the database at rawURL into out.
func (e *mysqlEngine) runDump(ctx context.Context, prog program, rawURL string, out io.Writer) error {
	sec, database, err := myOptions(rawURL)
	if err != nil {
		return err
	}
	defer sec.Close()
	if database == "" {
		return fmt.Errorf("the database URL names no database")
	}
	args := []string{"--defaults-extra-file=" + sec.Path, "--single-transaction", "--quick", "--skip-lock-tables",
		"--hex-blob", "--no-tablespaces", "--default-character-set=utf8mb4", "--triggers", database}
	return run(ctx, prog, child{args: args, secret: sec, stdout: out})
}

// read dumps the database at url and reads the dump's sums.
func (e *mysqlEngine) read(ctx context.Context, to string, _ *progress) (*snapshot, error) {
	prog, err := findProgram(ctx, myInstall, "mariadb-dump", "mysqldump")
	if err != nil {
		return nil, err
	}
	sums := newDumpSums()
	if err := e.runDump(ctx, prog, to, sums); err != nil {
		return nil, fmt.Errorf("read back: %w", err)
	}
	return &snapshot{tables: sums.sums()}, nil
}

// load runs the backup's script into the empty database at to with the
// mariadb (or mysql) client.
func (e *mysqlEngine) load(ctx context.Context, file, to string, pr *progress) error {
	prog, err := findProgram(ctx, myInstall, "mariadb", "mysql")
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
	pr.start("restore", "bytes", fi.Size())
	zr, err := gzip.NewReader(pr.reader(f))
	if err != nil {
		return fmt.Errorf("%s is not a gzip file: %w", f.Name(), err)
	}
	defer zr.Close()
	sec, database, err := myOptions(to)
	if err != nil {
		return err
	}
	defer sec.Close()
	if database == "" {
		return fmt.Errorf("the target URL names no database")
	}
	args := []string{"--defaults-extra-file=" + sec.Path, "--default-character-set=utf8mb4", "--database=" + database}
	if prog.mariadb {
		// MariaDB's client prints a failing statement whole, rows and
		// all: not here.
		args = append(args, "--skip-print-query-on-error")
	}
	return run(ctx, prog, child{args: args, secret: sec, stdin: zr, stdout: io.Discard})
}

func (e *mysqlEngine) scratch(ctx context.Context, _ string) (string, func(context.Context) error, error) {
	sweepMySQL(ctx, e.cfg, e.cfg.ScratchURL)
	return makeScratch(ctx, e.cfg,
		func(name string) string { return "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4" },
		func(name string) string { return "DROP DATABASE IF EXISTS `" + name + "`" }, mysqlScratchProbe)
}

// mysqlScratchProbe is what a restore of a dump does in the scratch
// database, tried on an empty table first: a role that may create the
// database but not fill it (CREATE and DROP alone) is told so, instead of
// the backup being found not to restore.
func mysqlScratchProbe(name string) []string {
	t := "`" + name + "`.`kura_probe`"
	return []string{
		"CREATE TABLE " + t + " (id INT PRIMARY KEY)",
		"LOCK TABLES " + t + " WRITE",
		"ALTER TABLE " + t + " DISABLE KEYS",
		"INSERT INTO " + t + " VALUES (1)",
		"ALTER TABLE " + t + " ENABLE KEYS",
		"UNLOCK TABLES",
		"SELECT id FROM " + t,
		"DROP TABLE " + t,
	}
}

func (e *mysqlEngine) open(ctx context.Context, to string) (*sql.DB, func() error, error) {
	return openForRead(ctx, e.cfg, to)
}
