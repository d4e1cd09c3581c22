// Package roles makes and checks least-privilege database roles for an
// application built on sqldb: a migration role that owns the schema and
// runs the migrations, and an application role that may only read and
// write rows, on PostgreSQL and MySQL/MariaDB. It covers every table of
// the schema (PostgreSQL) or the database (MySQL), whichever migration
// sets made them, kura's or an application's own.
//
// Start with a Spec, Validate it, and print its Statements (passwords as
// placeholders) or run them with Apply. Findings and MayMakeScratch read
// what a connected role may do, for an audit such as kura doctor's.
package roles

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// Spec is what Statements makes: a migration role that owns the schema
// and an application role that only reads and writes its rows.
type Spec struct {
	Database string // the database the tables are in
	Migrate  string // the migration role
	App      string // the application role
	Host     string // MySQL/MariaDB: the host part of both accounts, such as %
	Schema   string // PostgreSQL: the schema the tables are in, such as public
}

// plainName is a name accepted for a role: a plain identifier that needs
// no quoting on either engine, so that what the operator typed is what
// the server stores.
var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,31}$`)

// plainDatabase is a database name: letters of either case are allowed,
// as the database exists already.
var plainDatabase = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// plainHost is the host part of a MySQL account: a name, an address or a
// pattern with %.
var plainHost = regexp.MustCompile(`^[A-Za-z0-9.%_:-]{1,255}$`)

// Validate refuses names that are not plain identifiers. Its messages
// name kura db roles' flags (--migrate-role, --app-role, --host) and
// DATABASE_URL, where the names come from.
func (r Spec) Validate() error {
	for _, n := range []struct{ what, v string }{{"--migrate-role", r.Migrate}, {"--app-role", r.App}} {
		if !plainName.MatchString(n.v) {
			return fmt.Errorf("%s %q is not a plain name: want lower-case letters, digits and underscores, 32 at most, not starting with a digit", n.what, n.v)
		}
	}
	if r.Migrate == r.App {
		return fmt.Errorf("--migrate-role and --app-role are both %q: want two roles", r.App)
	}
	if r.Database == "" {
		return fmt.Errorf("DATABASE_URL names no database: want such as postgres://postgres@host/kura")
	}
	if !plainDatabase.MatchString(r.Database) {
		return fmt.Errorf("the database name %q is not a plain identifier: kura db roles wants letters, digits and underscores", r.Database)
	}
	if !plainHost.MatchString(r.Host) {
		return fmt.Errorf("--host %q is not a host name, address or %%-pattern", r.Host)
	}
	return nil
}

// CheckPassword refuses a password the SQL could not carry as it is: it
// is written as a string literal (the statements that set one take no
// parameters), so quotes are doubled, and a backslash, whose meaning
// depends on the server's settings, and control characters are refused.
// env names where the password came from, for the message.
func CheckPassword(env, pw string) error {
	switch {
	case pw == "":
		return fmt.Errorf("%s: empty: want a password (such as the output of openssl rand -base64 24)", env)
	case strings.ContainsRune(pw, '\\'):
		return fmt.Errorf("%s: holds a backslash, which the engines read differently: choose another password", env)
	case strings.IndexFunc(pw, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("%s: holds a control character: choose another password", env)
	}
	return nil
}

// Literal returns s as a SQL string literal.
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pgIdent returns name quoted as a PostgreSQL identifier.
func pgIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// myIdent returns name quoted as a MySQL identifier.
func myIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// passwordMark stands for the password in a Statement's SQL.
const passwordMark = "{password}"

// Statement is one statement of the plan. Password, if set, is the role
// whose password stands in its SQL, which Render fills in.
type Statement struct {
	Comment  string // a line before it in the printed SQL; "" for none
	SQL      string
	Password string
}

// Render returns the statement with its password: the literal pw returns
// for the role (Literal of the password, to run it; a placeholder naming
// where it comes from, to print it).
func (s Statement) Render(pw func(role string) string) string {
	if s.Password == "" {
		return s.SQL
	}
	return strings.Replace(s.SQL, passwordMark, pw(s.Password), 1)
}

// Statements returns the statements that make r's roles on the dialect
// (PostgreSQL or MySQL). exists reports whether a PostgreSQL role exists
// already, which then gets ALTER ROLE instead of CREATE ROLE.
func Statements(d sqldb.Dialect, r Spec, exists func(role string) bool) []Statement {
	if d == sqldb.MySQL {
		return mysqlStatements(r)
	}
	return postgresStatements(r, exists)
}

// SQLiteAdvice is what stands for roles on SQLite.
const SQLiteAdvice = `SQLite has no roles: whoever can read the database file has all of it, and
whoever can write it can change the schema. What protects it is the file's
mode: kura creates it 0600 (its -wal and -shm files too) in a folder it
creates 0750, so only the user kura runs as can open it. Run kura as a user
of its own, keep the mode as it is, and check it with kura doctor.
For separate migration and application roles, use PostgreSQL or MariaDB.
`
