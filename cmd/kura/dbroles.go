package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// roleSpec is what kura db roles makes: a migration role that owns kura's
// schema and an application role that only reads and writes its rows.
type roleSpec struct {
	database string // the database kura's tables are in
	migrate  string // the migration role
	app      string // the application role
	host     string // MySQL/MariaDB: the host part of both accounts
	schema   string // PostgreSQL: the schema kura's tables are in
}

// plainName is a name kura db roles accepts for a role or a database: a
// plain identifier that needs no quoting on either engine, so that what
// the operator typed is what the server stores.
var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,31}$`)

// plainDatabase is a database name: letters of either case are allowed,
// as the database exists already.
var plainDatabase = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// plainHost is the host part of a MySQL account: a name, an address or a
// pattern with %.
var plainHost = regexp.MustCompile(`^[A-Za-z0-9.%_:-]{1,255}$`)

// validate refuses names that are not plain identifiers.
func (r roleSpec) validate() error {
	for _, n := range []struct{ what, v string }{{"--migrate-role", r.migrate}, {"--app-role", r.app}} {
		if !plainName.MatchString(n.v) {
			return fmt.Errorf("%s %q is not a plain name: want lower-case letters, digits and underscores, 32 at most, not starting with a digit", n.what, n.v)
		}
	}
	if r.migrate == r.app {
		return fmt.Errorf("--migrate-role and --app-role are both %q: want two roles", r.app)
	}
	if r.database == "" {
		return fmt.Errorf("DATABASE_URL names no database: want such as postgres://postgres@host/kura")
	}
	if !plainDatabase.MatchString(r.database) {
		return fmt.Errorf("the database name %q is not a plain identifier: kura db roles wants letters, digits and underscores", r.database)
	}
	if !plainHost.MatchString(r.host) {
		return fmt.Errorf("--host %q is not a host name, address or %%-pattern", r.host)
	}
	return nil
}

// checkRolePassword refuses a password the SQL could not carry as it is:
// it is written as a string literal (the statements that set one take no
// parameters), so quotes are doubled, and a backslash, whose meaning
// depends on the server's settings, and control characters are refused.
func checkRolePassword(env, pw string) error {
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

// sqlString returns s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pgIdent returns name quoted as a PostgreSQL identifier.
func pgIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// myIdent returns name quoted as a MySQL identifier.
func myIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// passwordMark stands for the password in a roleStatement's sql.
const passwordMark = "{password}"

// roleStatement is one statement of the plan; password, if set, is the
// role whose password stands at its passwordMark.
type roleStatement struct {
	comment  string // a line before it in the printed SQL; "" for none
	sql      string
	password string
}

// render returns the statement with its password: the literal pw returns,
// or a placeholder naming the variable it comes from.
func (s roleStatement) render(pw func(role string) string) string {
	if s.password == "" {
		return s.sql
	}
	return strings.Replace(s.sql, passwordMark, pw(s.password), 1)
}

// rolesSQL returns the statements that make r's roles on the dialect.
// exists reports whether a PostgreSQL role exists already, which then
// gets ALTER ROLE instead of CREATE ROLE.
func rolesSQL(d sqldb.Dialect, r roleSpec, exists func(role string) bool) []roleStatement {
	if d == sqldb.MySQL {
		return mysqlRolesSQL(r)
	}
	return postgresRolesSQL(r, exists)
}

func postgresRolesSQL(r roleSpec, exists func(string) bool) []roleStatement {
	m, a, db, sc := pgIdent(r.migrate), pgIdent(r.app), pgIdent(r.database), pgIdent(r.schema)
	role := func(name, comment string) roleStatement {
		verb := "CREATE"
		if exists(name) {
			verb = "ALTER"
		}
		return roleStatement{comment: comment, password: name,
			sql: verb + " ROLE " + pgIdent(name) + " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD " + passwordMark}
	}
	return []roleStatement{
		role(r.migrate, "The migration role: owns kura's schema and runs the migrations (KURA_MIGRATE_DATABASE_URL)."),
		role(r.app, "The application role: reads and writes rows, nothing else (DATABASE_URL of kura serve)."),
		{comment: "Only the two roles (and superusers) may connect; nobody else may make temporary tables.",
			sql: "REVOKE ALL ON DATABASE " + db + " FROM PUBLIC"},
		{sql: "GRANT CONNECT ON DATABASE " + db + " TO " + m + ", " + a},
		{comment: "The migration role owns the schema and whatever is in it already.",
			sql: "ALTER SCHEMA " + sc + " OWNER TO " + m},
		{sql: pgReassignSQL(r)},
		{comment: "Nobody else may create objects in it.",
			sql: "REVOKE CREATE ON SCHEMA " + sc + " FROM PUBLIC"},
		{sql: "REVOKE CREATE ON SCHEMA " + sc + " FROM " + a},
		{comment: "The application role: rows of kura's tables (River's job tables included), its sequences.",
			sql: "GRANT USAGE ON SCHEMA " + sc + " TO " + a},
		{sql: "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + sc + " TO " + a},
		{sql: "GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + sc + " TO " + a},
		{comment: "And the same on the tables and sequences later migrations make.",
			sql: "ALTER DEFAULT PRIVILEGES FOR ROLE " + m + " IN SCHEMA " + sc + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + a},
		{sql: "ALTER DEFAULT PRIVILEGES FOR ROLE " + m + " IN SCHEMA " + sc + " GRANT USAGE ON SEQUENCES TO " + a},
	}
}

// pgReassignSQL gives the migration role the tables, views, functions and
// types already in the schema (made by another role, such as migrations
// run as the superuser), so that later migrations may change them. An
// extension's objects stay its own; a column's sequence follows its table.
func pgReassignSQL(r roleSpec) string {
	// The names are plain (validate), so they may stand inside literals.
	owner, schema := sqlString(r.migrate), sqlString(r.schema)
	return `DO $$
DECLARE q text;
BEGIN
  FOR q IN
    SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, ` + owner + `) FROM pg_class c
     WHERE c.relnamespace = ` + schema + `::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, ` + owner + `) FROM pg_proc p
     WHERE p.pronamespace = ` + schema + `::regnamespace
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, ` + owner + `) FROM pg_type t
     WHERE t.typnamespace = ` + schema + `::regnamespace AND t.typtype IN ('e', 'd', 'r')
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE q;
  END LOOP;
END $$`
}

func mysqlRolesSQL(r roleSpec) []roleStatement {
	account := func(name string) string { return sqlString(name) + "@" + sqlString(r.host) }
	// In a GRANT, _ in a database name is a wildcard unless escaped.
	m, a, db := account(r.migrate), account(r.app), myIdent(strings.ReplaceAll(r.database, "_", `\_`))
	return []roleStatement{
		{comment: "The migration role: every right on kura's database and nothing beyond it (KURA_MIGRATE_DATABASE_URL).",
			sql: "CREATE USER IF NOT EXISTS " + m + " IDENTIFIED BY " + passwordMark, password: r.migrate},
		{sql: "ALTER USER " + m + " IDENTIFIED BY " + passwordMark, password: r.migrate},
		{sql: "GRANT ALL PRIVILEGES ON " + db + ".* TO " + m},
		{comment: "And on the scratch databases of its backups, nothing else of the server: backup verify restores into kura_verify_…, backup restore loads into kura_restore_… before it swaps the tables in.",
			sql: "GRANT ALL PRIVILEGES ON " + scratchPattern("kura_verify_") + ".* TO " + m},
		{sql: "GRANT ALL PRIVILEGES ON " + scratchPattern("kura_restore_") + ".* TO " + m},
		{comment: "The application role: rows of kura's tables (kura_jobs included), nothing else (DATABASE_URL of kura serve).",
			sql: "CREATE USER IF NOT EXISTS " + a + " IDENTIFIED BY " + passwordMark, password: r.app},
		{sql: "ALTER USER " + a + " IDENTIFIED BY " + passwordMark, password: r.app},
		{sql: "GRANT SELECT, INSERT, UPDATE, DELETE ON " + db + ".* TO " + a},
	}
}

// scratchPattern is the quoted database pattern of a GRANT that matches
// the names starting with prefix: its _ escaped, then %.
func scratchPattern(prefix string) string {
	return myIdent(strings.ReplaceAll(prefix, "_", `\_`) + "%")
}

// sqliteRoles is what kura db roles says on SQLite.
const sqliteRoles = `SQLite has no roles: whoever can read the database file has all of it, and
whoever can write it can change the schema. What protects it is the file's
mode: kura creates it 0600 (its -wal and -shm files too) in a folder it
creates 0750, so only the user kura runs as can open it. Run kura as a user
of its own, keep the mode as it is, and check it with kura doctor.
For separate migration and application roles, use PostgreSQL or MariaDB.
`
