package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/kura-dev/kura/sqldb"
)

// The variables db roles --apply reads the roles' passwords from; a
// password is never a flag and never printed.
const (
	migratePasswordEnv = "KURA_DB_MIGRATE_PASSWORD"
	appPasswordEnv     = "KURA_DB_APP_PASSWORD"
)

// The default role names of db roles.
const (
	defaultMigrateRole = "kura_migrate"
	defaultAppRole     = "kura_app"
)

const dbAbout = `Administer the database kura runs on: its roles, its identity, and read-only mode.`

// dbCommands are the subcommands of kura db.
var dbCommands = []entry{
	{"roles", "print, or with --apply run, the SQL of a migration role and a least-privilege application role", func(m *Main) Command { return &dbRolesCommand{m: m} }},
	{"identity", "print the database's identity, as a backup's manifest records its source", func(m *Main) Command { return &dbIdentityCommand{m: m} }},
	{"read-only", "turn read-only mode on or off everywhere (writes answer 503, reads go on), or show it", newGroup("db read-only", dbReadOnlyAbout, dbReadOnlyCommands)},
}

// dbRolesCommand makes the migration and application roles.
type dbRolesCommand struct {
	m                  *Main
	cf                 configFlags
	migrate, app, host string
	apply              bool
}

var dbRolesDoc = doc{
	synopsis: "db roles [--migrate-role NAME] [--app-role NAME] [--host HOST] [--apply] [--env-file FILE]",
	about: `Print the SQL that makes two roles for the database of DATABASE_URL: a
migration role that owns kura's schema (kura's tables and the job queue's)
and runs the migrations, and an application role that may only read and
write their rows (SELECT, INSERT, UPDATE, DELETE; USAGE on the sequences) and
cannot change the schema. On PostgreSQL default privileges grant the tables
later migrations make to the application role too, and nobody else may
create objects in the schema. On MariaDB/MySQL the migration role also gets
every right on the scratch databases of backups (kura_verify_…, which backup
verify restores into, and kura_restore_…), and nothing else of the server;
on PostgreSQL, where creating a database is a right over the whole server,
backup verify needs KURA_BACKUP_SCRATCH_URL (a role with CREATEDB). Passwords
show as placeholders.

With --apply, run it, connected as DATABASE_URL (a superuser, or an admin
that may create roles), on PostgreSQL or MariaDB/MySQL. The passwords come
from ` + migratePasswordEnv + ` and ` + appPasswordEnv + `, else are prompted
for; never from a flag. Then run migrations as the migration role and serve
as the application role:

  KURA_MIGRATE_DATABASE_URL=postgres://kura_migrate:…@host/db kura migrate up
  DATABASE_URL=postgres://kura_app:…@host/db KURA_MIGRATE_DATABASE_URL=… kura serve

SQLite has no roles; the command says what protects its file instead.`,
	env: envLog | envDB | envRoles,
}

func (c *dbRolesCommand) flags() *flag.FlagSet {
	fs := newFlagSet("db roles", &c.cf)
	fs.StringVar(&c.migrate, "migrate-role", defaultMigrateRole, "the migration role's `name`")
	fs.StringVar(&c.app, "app-role", defaultAppRole, "the application role's `name`")
	fs.StringVar(&c.host, "host", "%", "MariaDB/MySQL: the `host` the roles connect from")
	fs.BoolVar(&c.apply, "apply", false, "run the SQL, connected as DATABASE_URL")
	return fs
}

func (c *dbRolesCommand) Usage(w io.Writer) { printUsage(w, dbRolesDoc, c.flags()) }

func (c *dbRolesCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "db roles takes no arguments")
	}
	cfg, err := loadConfig(c.cf.source(c.m))
	if err != nil {
		return err
	}
	d, _ := sqldb.ParseDialect(cfg.URL())
	if d == sqldb.SQLite {
		_, err := fmt.Fprint(c.m.Stdout, sqliteRoles)
		return err
	}
	r := roleSpec{migrate: c.migrate, app: c.app, host: c.host, schema: "public", database: urlDatabase(cfg.URL())}
	if err := r.validate(); err != nil {
		return usageError{err.Error()}
	}
	if !c.apply {
		return c.print(d, r)
	}
	return c.run(ctx, d, r)
}

// print writes the statements with placeholders for the passwords.
func (c *dbRolesCommand) print(d sqldb.Dialect, r roleSpec) error {
	w := bufio.NewWriter(c.m.Stdout)
	fmt.Fprintf(w, "-- kura db roles: %s, database %s. Run as a superuser; passwords are placeholders.\n", d, r.database)
	for _, s := range rolesSQL(d, r, func(string) bool { return false }) {
		if s.comment != "" {
			fmt.Fprintf(w, "\n-- %s\n", s.comment)
		}
		fmt.Fprintf(w, "%s;\n", s.render(func(role string) string { return "'<" + c.passwordEnv(r, role) + ">'" }))
	}
	return w.Flush()
}

// passwordEnv returns the variable role's password comes from.
func (c *dbRolesCommand) passwordEnv(r roleSpec, role string) string {
	if role == r.migrate {
		return migratePasswordEnv
	}
	return appPasswordEnv
}

// run reads the passwords and runs the statements, in order, on one
// connection as DATABASE_URL. Neither the statements nor the passwords
// are logged.
func (c *dbRolesCommand) run(ctx context.Context, d sqldb.Dialect, r roleSpec) error {
	in := bufio.NewReader(c.m.Stdin)
	pws := map[string]string{}
	for _, role := range []string{r.migrate, r.app} {
		pw, err := c.readRolePassword(in, c.passwordEnv(r, role), role)
		if err != nil {
			return err
		}
		pws[role] = pw
	}
	a, err := c.m.open(ctx, &c.cf, schemaAsIs)
	if err != nil {
		return err
	}
	defer a.Close()
	conn, err := a.db.Writer().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := c.checkDatabase(ctx, conn, d, r.database); err != nil {
		return err
	}
	if d == sqldb.Postgres {
		// Keep the statements, which carry passwords, out of the server's
		// log; a role that may not change these settings leaves them be.
		for _, q := range []string{"SET log_statement = 'none'", "SET log_min_error_statement = 'panic'", "SET log_min_duration_statement = -1"} {
			conn.ExecContext(ctx, q)
		}
	}
	exists := func(role string) bool {
		var n int
		err := conn.QueryRowContext(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role).Scan(&n)
		return err == nil && n > 0
	}
	for i, s := range rolesSQL(d, r, exists) {
		if _, err := conn.ExecContext(ctx, s.render(func(role string) string { return sqlString(pws[role]) })); err != nil {
			// The statement may hold a password: say which one it was.
			return fmt.Errorf("db roles: statement %d of the printed SQL: %w", i+1, err)
		}
	}
	_, err = fmt.Fprintf(c.m.Stdout, "made roles %s (migrations) and %s (the application) on %s database %s\n", r.migrate, r.app, d, r.database)
	return err
}

// checkDatabase makes sure the connection is on the database the SQL names.
func (c *dbRolesCommand) checkDatabase(ctx context.Context, conn *sql.Conn, d sqldb.Dialect, want string) error {
	q := "SELECT current_database()"
	if d == sqldb.MySQL {
		q = "SELECT COALESCE(DATABASE(), '')"
	}
	var got string
	if err := conn.QueryRowContext(ctx, q).Scan(&got); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("connected to database %q, not %q: name the database in DATABASE_URL", got, want)
	}
	return nil
}

// readRolePassword returns role's password from env, else from in: asked
// for without echo on a terminal, else a line.
func (c *dbRolesCommand) readRolePassword(in *bufio.Reader, env, role string) (string, error) {
	for _, kv := range c.m.environ() {
		if v, ok := strings.CutPrefix(kv, env+"="); ok && v != "" {
			return v, checkRolePassword(env, v)
		}
	}
	if f, ok := c.m.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(c.m.Stderr, "Password of %s: ", role)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.m.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), checkRolePassword(env, string(b))
	}
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{fmt.Sprintf("no password for %s: set %s or give it on standard input", role, env)}
	}
	return line, checkRolePassword(env, line)
}

// urlDatabase returns the database a postgres:// or mysql:// URL names,
// "" for none.
func urlDatabase(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}
