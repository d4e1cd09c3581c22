package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/doctor"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/sqldb/roles"
)

// TestBackup_LeastPrivilege follows the documented commands after kura db
// roles --apply, on PostgreSQL and MariaDB: backup create works as the
// migration role; backup verify works too on MariaDB, and where that role
// may not create the scratch database (PostgreSQL, or a MariaDB role
// without the grant) verify says which setting and which right it needs
// (and records nothing against the backup), doctor fails it, and the right
// it names makes it work; a restore over the database as DATABASE_URL's role is refused
// naming KURA_MIGRATE_DATABASE_URL, as which it works, and the application
// role serves the restored tables.
func TestBackup_LeastPrivilege(t *testing.T) {
	for _, e := range engines[1:] {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			admin := e.url(t)
			migURL, appURL := roleURLs(t, admin)
			dir := filepath.Join(t.TempDir(), "backups")
			env := []string{"DATABASE_URL=" + appURL, "KURA_MIGRATE_DATABASE_URL=" + migURL, "KURA_BACKUP_DIR=" + dir}
			if _, logs, err := runKura(t, env, "a long admin password\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
				t.Fatalf("users create: %v\n%s", err, logs)
			}
			out, logs, err := runKura(t, env, "", "backup", "create", "--json")
			var m struct{ Name string }
			if err != nil || json.Unmarshal([]byte(out), &m) != nil {
				t.Fatalf("backup create as the migration role: %v\n%s", err, logs)
			}

			// verify: on MariaDB kura db roles lets the migration role make
			// its scratch databases (kura_verify_…), and verify works as
			// documented; a role made without it (revoked here, as by an
			// older kura) is told what to grant. PostgreSQL's right to
			// create databases is server-wide, so kura db roles does not
			// give it: verify says which setting or right it needs.
			mig := roleOf(migURL)
			d, _ := sqldb.ParseDialect(admin)
			if d == sqldb.MySQL {
				if _, logs, err := runKura(t, env, "", "backup", "verify", m.Name); err != nil {
					t.Fatalf("verify after kura db roles: %v\n%s", err, logs)
				}
				if r := checkBackups(ctx, doctorEnvFor(t, "", env...)); strings.Contains(r.Message, "cannot run") {
					t.Errorf("doctor after kura db roles: %+v", r)
				}
				execAs(t, admin, "REVOKE ALL PRIVILEGES ON "+roles.ScratchPattern("kura_verify_")+".* FROM "+roles.Literal(mig)+"@'%'")
			}
			_, logs, err = runKura(t, env, "", "backup", "verify", m.Name)
			if code := exitCode(err, io.Discard); code != 1 || !strings.Contains(err.Error(), "KURA_BACKUP_SCRATCH_URL") ||
				!strings.Contains(err.Error(), "KURA_MIGRATE_DATABASE_URL's role "+mig) {
				t.Fatalf("verify without the right to a scratch database: exit %d: %v\n%s", code, err, logs)
			}
			if found, err := backup.Find(dir, m.Name); err != nil || (found.Verified != nil && !found.Verified.OK) {
				t.Fatalf("a verify that could not run was recorded against the backup: %+v %v", found.Verified, err)
			}
			found := checkBackups(ctx, doctorEnvFor(t, "", env...))
			if found.Status != doctor.Fail || !strings.Contains(found.Message, "backup verify cannot run") ||
				!strings.Contains(found.Fix, "KURA_BACKUP_SCRATCH_URL") {
				t.Fatalf("doctor's backups check: %+v, want a failure naming the scratch database", found)
			}
			if d == sqldb.Postgres { // the state SECURITY.md shows: a backup, none verified, no CREATEDB
				wantSecurityExample(t, "backups", found, map[string]string{"kura_migrate": mig})
			}
			// KURA_BACKUP_SCRATCH_URL, a role that may: verify works.
			if _, logs, err := runKura(t, append(env, "KURA_BACKUP_SCRATCH_URL="+admin), "", "backup", "verify", m.Name); err != nil {
				t.Fatalf("verify with KURA_BACKUP_SCRATCH_URL: %v\n%s", err, logs)
			}
			// The right the fix names, given to the migration role: verify
			// works as it, and doctor finds nothing against it.
			grant, _, _ := strings.Cut(roles.ScratchGrant(d, mig), " (")
			execAs(t, admin, grant)
			if _, logs, err := runKura(t, env, "", "backup", "verify", "--latest"); err != nil {
				t.Fatalf("verify after %s: %v\n%s", grant, err, logs)
			}
			if r := checkBackups(ctx, doctorEnvFor(t, "", env...)); strings.Contains(r.Message, "cannot run") {
				t.Errorf("doctor after %s: %+v", grant, r)
			}

			// restore over the database: not as the application role.
			_, _, err = runKura(t, env, "", "backup", "restore", m.Name, "--to", appURL, "--force")
			if err == nil || !strings.Contains(err.Error(), "--to-env KURA_MIGRATE_DATABASE_URL") {
				t.Fatalf("restore as the application role: %v, want a refusal naming KURA_MIGRATE_DATABASE_URL", err)
			}
			if _, logs, err := runKura(t, env, "", "backup", "restore", m.Name, "--to", migURL, "--force"); err != nil {
				t.Fatalf("restore as the migration role: %v\n%s", err, logs)
			}
			// The application role serves the restored tables.
			if _, logs, err := runKura(t, env, "another long password\n", "users", "create", "--email", "ann@example.com", "--username", "ann"); err != nil {
				t.Fatalf("users create after the restore: %v\n%s", err, logs)
			}
			wantNoDDL(t, appURL)
		})
	}
}

// execAs runs one statement on the database at dbURL.
func execAs(t *testing.T, dbURL, stmt string) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Writer().Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
