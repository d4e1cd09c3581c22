package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/sqldb/roles"
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
		_, err := fmt.Fprint(c.m.Stdout, roles.SQLiteAdvice)
		return err
	}
	r := roles.Spec{Migrate: c.migrate, App: c.app, Host: c.host, Schema: "public", Database: sqldb.URLDatabase(cfg.URL())}
	if err := r.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if !c.apply {
		return c.print(d, r)
	}
	return c.run(ctx, d, r)
}

// print writes the statements with placeholders for the passwords.
func (c *dbRolesCommand) print(d sqldb.Dialect, r roles.Spec) error {
	w := bufio.NewWriter(c.m.Stdout)
	fmt.Fprintf(w, "-- kura db roles: %s, database %s. Run as a superuser; passwords are placeholders.\n", d, r.Database)
	for _, s := range roles.Statements(d, r, func(string) bool { return false }) {
		if s.Comment != "" {
			fmt.Fprintf(w, "\n-- %s\n", s.Comment)
		}
		fmt.Fprintf(w, "%s;\n", s.Render(func(role string) string { return "'<" + c.passwordEnv(r, role) + ">'" }))
	}
	return w.Flush()
}

// passwordEnv returns the variable role's password comes from.
func (c *dbRolesCommand) passwordEnv(r roles.Spec, role string) string {
	if role == r.Migrate {
		return migratePasswordEnv
	}
	return appPasswordEnv
}

// run reads the passwords and runs the statements, in order, on one
// connection as DATABASE_URL (roles.Apply). Neither the statements nor
// the passwords are logged.
func (c *dbRolesCommand) run(ctx context.Context, d sqldb.Dialect, r roles.Spec) error {
	in := bufio.NewReader(c.m.Stdin)
	pws := map[string]string{}
	for _, role := range []string{r.Migrate, r.App} {
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
	if err := roles.Apply(ctx, conn, d, r, pws); err != nil {
		var se *roles.StatementError
		if errors.As(err, &se) {
			return fmt.Errorf("db roles: %w", err)
		}
		return err
	}
	_, err = fmt.Fprintf(c.m.Stdout, "made roles %s (migrations) and %s (the application) on %s database %s\n", r.Migrate, r.App, d, r.Database)
	return err
}

// readRolePassword returns role's password from env, else from in: asked
// for without echo on a terminal, else a line.
func (c *dbRolesCommand) readRolePassword(in *bufio.Reader, env, role string) (string, error) {
	for _, kv := range c.m.environ() {
		if v, ok := strings.CutPrefix(kv, env+"="); ok && v != "" {
			return v, roles.CheckPassword(env, v)
		}
	}
	if f, ok := c.m.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(c.m.Stderr, "Password of %s: ", role)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.m.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), roles.CheckPassword(env, string(b))
	}
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{fmt.Sprintf("no password for %s: set %s or give it on standard input", role, env)}
	}
	return line, roles.CheckPassword(env, line)
}
