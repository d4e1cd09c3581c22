package roles_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/sqldb/roles"
)

// TestApply makes the roles over an application's own table (no table of
// kura's), on PostgreSQL and MariaDB: the application role reads and
// writes its rows and may not change the schema, Findings finds nothing
// against it and something against the superuser, and the migration role
// may change the schema.
func TestApply(t *testing.T) {
	for _, c := range []struct {
		d   sqldb.Dialect
		url func(testing.TB) string
	}{{sqldb.Postgres, testenv.PostgresDatabase}, {sqldb.MySQL, testenv.MySQLDatabase}} {
		t.Run(string(c.d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			admin := c.url(t)
			adb := open(t, admin)
			if _, err := adb.Writer().ExecContext(ctx, "CREATE TABLE notes (id int PRIMARY KEY, body text)"); err != nil {
				t.Fatal(err)
			}
			sfx := testenv.RandomSuffix()
			spec := roles.Spec{Database: sqldb.URLDatabase(admin), Migrate: "notes_migrate_" + sfx, App: "notes_app_" + sfx, Host: "%", Schema: "public"}
			if err := spec.Validate(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { drop(t, adb, spec.Migrate, spec.App) })
			apply(t, adb, spec, map[string]string{spec.Migrate: "m'pw one", spec.App: "a pw two"})

			app := open(t, as(admin, spec.App, "a pw two"))
			if _, err := app.Writer().ExecContext(ctx, app.Rebind("INSERT INTO notes (id, body) VALUES (?, ?)"), 1, "hello"); err != nil {
				t.Errorf("insert as the application role: %v", err)
			}
			for _, q := range []string{"CREATE TABLE evil (id int)", "DROP TABLE notes", "ALTER TABLE notes ADD COLUMN evil int"} {
				if _, err := app.Writer().ExecContext(ctx, q); !denied(err) {
					t.Errorf("%s as the application role: %v, want a permission error", q, err)
				}
			}
			if user, f, err := roles.Findings(ctx, app); err != nil || len(f) > 0 {
				t.Errorf("findings of the application role %s: %v %v", user, f, err)
			}
			if _, f, err := roles.Findings(ctx, adb); err != nil || len(f) == 0 {
				t.Errorf("findings of the superuser: %v %v, want some", f, err)
			}
			if may, err := roles.MayMakeScratch(ctx, adb); err != nil || !may {
				t.Errorf("the superuser may make a scratch database: %v %v", may, err)
			}
			mig := open(t, as(admin, spec.Migrate, "m'pw one"))
			if _, err := mig.Writer().ExecContext(ctx, "ALTER TABLE notes ADD COLUMN title text"); err != nil {
				t.Errorf("the migration role changes the schema: %v", err)
			}
			if _, f, err := roles.Findings(ctx, mig); err != nil || len(f) == 0 {
				t.Errorf("findings of the migration role: %v %v, want some", f, err)
			}
			// Applying again (other passwords) changes the roles in place.
			apply(t, adb, spec, map[string]string{spec.Migrate: "m2", spec.App: "a2"})
			open(t, as(admin, spec.App, "a2"))
		})
	}
}

// TestApply_WrongDatabase: the statements run only on the database they name.
func TestApply_WrongDatabase(t *testing.T) {
	admin := testenv.PostgresDatabase(t)
	db := open(t, admin)
	conn, err := db.Writer().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	spec := roles.Spec{Database: "another", Migrate: "m_x", App: "a_x", Host: "%", Schema: "public"}
	err = roles.Apply(context.Background(), conn, sqldb.Postgres, spec, nil)
	if err == nil || !strings.Contains(err.Error(), `not "another"`) {
		t.Errorf("apply on another database: %v", err)
	}
}

func TestStatements_Print(t *testing.T) {
	spec := roles.Spec{Database: "my_app", Migrate: "m", App: "a", Host: "%", Schema: "public"}
	placeholder := func(role string) string { return "'<" + role + ">'" }
	var pg []string
	for _, s := range roles.Statements(sqldb.Postgres, spec, func(string) bool { return false }) {
		pg = append(pg, s.Render(placeholder))
	}
	all := strings.Join(pg, ";\n")
	for _, w := range []string{`CREATE ROLE "a" WITH LOGIN NOSUPERUSER`, `PASSWORD '<a>'`, `REVOKE CREATE ON SCHEMA "public" FROM PUBLIC`,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "a"`} {
		if !strings.Contains(all, w) {
			t.Errorf("PostgreSQL's statements lack %q", w)
		}
	}
	var my []string
	for _, s := range roles.Statements(sqldb.MySQL, spec, nil) {
		my = append(my, s.Render(placeholder))
	}
	if all := strings.Join(my, ";\n"); !strings.Contains(all, "GRANT SELECT, INSERT, UPDATE, DELETE ON `my\\_app`.* TO 'a'@'%'") {
		t.Errorf("MySQL's statements:\n%s", all)
	}
}

func TestSpec_Validate(t *testing.T) {
	good := roles.Spec{Database: "kura", Migrate: "m", App: "a", Host: "%", Schema: "public"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*roles.Spec){
		func(s *roles.Spec) { s.App = `x"; DROP` },
		func(s *roles.Spec) { s.Migrate = "Kura" },
		func(s *roles.Spec) { s.App = s.Migrate },
		func(s *roles.Spec) { s.Host = "a'b" },
		func(s *roles.Spec) { s.Database = "" },
		func(s *roles.Spec) { s.Database = "a-b" },
	} {
		s := good
		bad(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, pw := range []string{`back\slash`, "new\nline", ""} {
		if err := roles.CheckPassword("X", pw); err == nil {
			t.Errorf("password %q accepted", pw)
		}
	}
	if err := roles.CheckPassword("X", "it's fine"); err != nil {
		t.Error(err)
	}
}

// TestGrantsMakeScratch reads MySQL's SHOW GRANTS as doctor does.
func TestGrantsMakeScratch(t *testing.T) {
	for _, c := range []struct {
		grants []string
		want   bool
	}{
		{[]string{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"}, true},
		{[]string{"GRANT USAGE ON *.* TO `m`@`%`", "GRANT ALL PRIVILEGES ON `kura`.* TO `m`@`%`"}, false},
		{[]string{"GRANT USAGE ON *.* TO `m`@`%`", "GRANT ALL PRIVILEGES ON `kura\\_verify\\_%`.* TO `m`@`%`"}, true},
		{[]string{"GRANT CREATE, DROP ON `kura\\_verify\\_%`.* TO `m`@`%`"}, false},
		{[]string{"GRANT CREATE, DROP, SELECT, INSERT, ALTER, LOCK TABLES ON `kura%`.* TO `m`@`%`"}, true},
		{[]string{"GRANT CREATE, DROP, SELECT, INSERT, ALTER, LOCK TABLES ON `kura\\_verify\\_x`.* TO `m`@`%`"}, false},
		{[]string{"GRANT CREATE, DROP ON *.* TO `m`@`%`", "GRANT SELECT, INSERT, ALTER, LOCK TABLES ON `%`.* TO `m`@`%`"}, true},
		{[]string{"GRANT SELECT, INSERT, ALTER, LOCK TABLES, CREATE, DROP ON `kura`.`users` TO `m`@`%`"}, false},
	} {
		if got := roles.GrantsMakeScratch(c.grants); got != c.want {
			t.Errorf("%q: %v, want %v", c.grants, got, c.want)
		}
	}
}

func open(t *testing.T, rawURL string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: rawURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func apply(t *testing.T, db *sqldb.DB, spec roles.Spec, pws map[string]string) {
	t.Helper()
	conn, err := db.Writer().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := roles.Apply(context.Background(), conn, db.Dialect(), spec, pws); err != nil {
		t.Fatal(err)
	}
}

// as returns rawURL logging in as user with pw.
func as(rawURL, user, pw string) string {
	u, _ := url.Parse(rawURL)
	u.User = url.UserPassword(user, pw)
	return u.String()
}

// drop drops the test's roles and what they own or were granted.
func drop(t *testing.T, db *sqldb.DB, names ...string) {
	for _, r := range names {
		stmts := []string{`DROP OWNED BY "` + r + `"`, `DROP ROLE IF EXISTS "` + r + `"`}
		if db.Dialect() == sqldb.MySQL {
			stmts = []string{"DROP USER IF EXISTS " + roles.Literal(r) + "@'%'"}
		}
		for _, s := range stmts {
			if _, err := db.Writer().Exec(s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	}
}

// denied reports whether err is the server refusing a right.
func denied(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "42501"
	}
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1044 || me.Number == 1142 || me.Number == 1227)
}
