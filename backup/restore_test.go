package backup_test

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// TestRestore_Target: a restore tells its source and target before it
// acts; the restored database takes its source's identity and none of its
// kura_instances rows (a server of the source was serving when the backup
// was taken), and a forced restore over it leaves the backup's tables and
// no others.
func TestRestore_Target(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		srcURL := e.url(t)
		src := mustOpen(t, srcURL, 30)
		inst := sqldb.Instance{ID: "web-1", Hostname: "web", PID: 42, Addr: "127.0.0.1:8080", Version: "test", Started: time.Now()}
		if err := src.Announce(ctx, inst); err != nil {
			t.Fatal(err)
		}
		cfg := config(t, srcURL)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if tableOf(t, m, sqldb.InstancesTable).Rows != 1 {
			t.Fatalf("the backup holds %d kura_instances rows, want 1", tableOf(t, m, sqldb.InstancesTable).Rows)
		}
		id, _ := src.Identity(ctx)

		to := e.url(t)
		var seen []backup.Target
		opts := backup.RestoreOptions{To: to, Inspected: func(s backup.Source, dst backup.Target) {
			if s != m.Source {
				t.Errorf("Inspected with source %+v; want the manifest's %+v", s, m.Source)
			}
			seen = append(seen, dst)
		}}
		if err := backup.Restore(ctx, m, cfg, opts); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 1 || seen[0].State() != "empty" || seen[0].Engine != e.name || seen[0].Database == "" {
			t.Fatalf("the first target: %+v; want an empty database", seen)
		}
		restored := mustOpen(t, to, 0)
		if got, _ := restored.Identity(ctx); got != id {
			t.Fatalf("restored identity %s; want the source's %s", got, id)
		}
		if n := count(t, restored, sqldb.InstancesTable); n != 0 {
			t.Fatalf("the restored database holds %d kura_instances rows of its source", n)
		}

		// Over itself, with a table the backup does not hold: --force, and
		// the table goes.
		if _, err := restored.Writer().ExecContext(ctx, "CREATE TABLE extra_app (id INTEGER PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		restored.Close()
		opts.Force = true
		if err := backup.Restore(ctx, m, cfg, opts); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 || seen[1].ID != id || !seen[1].Kura || !strings.HasPrefix(seen[1].State(), "identity "+id) {
			t.Fatalf("the second target: %+v", seen[1])
		}
		again := mustOpen(t, to, 0)
		got, err := backup.ReadTables(ctx, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range got {
			if tb.Name == "extra_app" {
				t.Fatal("a table the backup does not hold survived the restore")
			}
		}
		if n := countUsers(t, again.Reader()); n != 30 {
			t.Fatalf("restored %d users, want 30", n)
		}
	})
}

func count(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRestore_MySQLTriggersAndViews: on MySQL the tables move between
// databases, which triggers cannot: the backup's triggers and views are
// made again in the target after the swap, and the target's old ones are
// gone.
func TestRestore_MySQLTriggersAndViews(t *testing.T) {
	e := engines[2]
	ctx := context.Background()
	srcURL := e.url(t)
	src := mustOpen(t, srcURL, 5)
	for _, q := range []string{
		"CREATE TRIGGER users_lower_email BEFORE INSERT ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email)",
		"CREATE VIEW admins AS SELECT id, email FROM users WHERE role = 'admin'",
		"CREATE VIEW admin_emails AS SELECT email FROM admins",
	} {
		if _, err := src.Writer().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config(t, srcURL)
	m, err := backup.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	to := e.url(t)
	dst := mustOpen(t, to, 3)
	for _, q := range []string{
		"CREATE TRIGGER users_old BEFORE UPDATE ON users FOR EACH ROW SET NEW.username = NEW.username",
		"CREATE VIEW old_view AS SELECT id FROM users",
	} {
		if _, err := dst.Writer().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to, Force: true, OtherDatabase: true}); err != nil {
		t.Fatal(err)
	}
	names := func(q string) string {
		rows, err := dst.Reader().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			out = append(out, s)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	if got := names("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY 1"); got != "users_lower_email" {
		t.Errorf("triggers after the restore: %q; want users_lower_email", got)
	}
	if got := names("SELECT table_name FROM information_schema.views WHERE table_schema = DATABASE() ORDER BY 1"); got != "admin_emails,admins" {
		t.Errorf("views after the restore: %q; want admin_emails,admins", got)
	}
	if _, err := dst.Writer().ExecContext(ctx, "INSERT INTO users (email, username, password_hash, role) VALUES ('NEW@EXAMPLE.COM', 'newone', 'x', 'admin')"); err != nil {
		t.Fatal(err)
	}
	if got := names("SELECT email FROM admin_emails"); got != "new@example.com" {
		t.Errorf("the restored trigger and views give %q; want new@example.com", got)
	}
	if dead := deadRestores(t, to); len(dead) > 0 {
		t.Errorf("the restore left %v", dead)
	}
}

// TestRestore_MySQLPrivileges: an account with every right on its own
// database only (the migration role of kura db roles) cannot make the
// scratch database a MySQL restore loads into: the restore says which
// grant it needs and changes nothing; with the grant it works.
func TestRestore_MySQLPrivileges(t *testing.T) {
	e := engines[2]
	ctx := context.Background()
	srcURL := e.url(t)
	mustOpen(t, srcURL, 5).Close()
	cfg := config(t, srcURL)
	m, err := backup.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	to := e.url(t)
	admin := mustOpen(t, to, 3)
	u, _ := url.Parse(to)
	name := "kura_mig_" + testenv.RandomSuffix()
	for _, q := range []string{
		"CREATE USER '" + name + "'@'%' IDENTIFIED BY 'pw-" + name + "'",
		"GRANT ALL PRIVILEGES ON " + strings.TrimPrefix(u.Path, "/") + ".* TO '" + name + "'@'%'",
	} {
		if _, err := admin.Writer().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { admin.Writer().Exec("DROP USER '" + name + "'@'%'") })
	u.User = url.UserPassword(name, "pw-"+name)
	opts := backup.RestoreOptions{To: u.String(), Force: true, OtherDatabase: true}
	err = backup.Restore(ctx, m, cfg, opts)
	if err == nil || !strings.Contains(err.Error(), "GRANT ALL PRIVILEGES ON `kura\\_restore\\_%`.*") || !strings.Contains(err.Error(), "as it was") {
		t.Fatalf("restore without the scratch databases' grant: %v; want the grant it needs", err)
	}
	t.Logf("without the grant: %v", err)
	if n := countUsers(t, admin.Reader()); n != 3 {
		t.Fatalf("the refused restore changed the target: %d users", n)
	}
	if _, err := admin.Writer().ExecContext(ctx, "GRANT ALL PRIVILEGES ON `kura\\_restore\\_%`.* TO '"+name+"'@'%'"); err != nil {
		t.Fatal(err)
	}
	if err := backup.Restore(ctx, m, cfg, opts); err != nil {
		t.Fatalf("restore with the grant: %v", err)
	}
	if n := countUsers(t, admin.Reader()); n != 5 {
		t.Fatalf("restored %d users, want 5", n)
	}
}
