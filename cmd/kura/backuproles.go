package main

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/sqldb"
)

// The backup commands under least-privilege roles (kura db roles): which
// URL each step uses, and what to say when its role may not.

// scratchSource names the variable whose URL backup verify makes its
// scratch database with on a server, and returns that URL.
func scratchSource(cfg Config) (name, rawURL string) {
	switch {
	case cfg.BackupScratchURL != "":
		return "KURA_BACKUP_SCRATCH_URL", cfg.BackupScratchURL
	case cfg.MigrateDatabaseURL != "":
		return "KURA_MIGRATE_DATABASE_URL", cfg.MigrateDatabaseURL
	}
	return "DATABASE_URL", cfg.URL()
}

// roleOf returns the role (user) a database URL logs in as; "" when it
// names none.
func roleOf(rawURL string) string {
	switch d, _ := sqldb.ParseDialect(rawURL); d {
	case sqldb.Postgres:
		if cc, err := pgx.ParseConfig(rawURL); err == nil {
			return cc.User
		}
	case sqldb.MySQL:
		if mc, err := sqldb.MySQLConfig(rawURL); err == nil {
			return mc.User
		}
	}
	return ""
}

// scratchGrant is the statement, run as a superuser, that lets role make
// and fill the scratch databases of backup verify.
func scratchGrant(d sqldb.Dialect, role string) string {
	if d == sqldb.MySQL {
		return "GRANT ALL PRIVILEGES ON " + scratchPattern("kura_verify_") + ".* TO " + sqlString(role) + "@'%'" +
			" (with the host part of the account, as kura db roles --host made it; kura db roles --apply grants it to the migration role)"
	}
	return "ALTER ROLE " + pgIdent(role) + " CREATEDB (kura db roles --apply takes it back: run it again after)"
}

// scratchFix says what lets backup verify make its scratch database.
func scratchFix(cfg Config) string {
	name, raw := scratchSource(cfg)
	d, _ := sqldb.ParseDialect(raw)
	role := roleOf(raw)
	if name == "KURA_BACKUP_SCRATCH_URL" {
		return fmt.Sprintf("let %s, the role of KURA_BACKUP_SCRATCH_URL, create them: %s; or set KURA_BACKUP_SCRATCH_URL to a role that may", role, scratchGrant(d, role))
	}
	return fmt.Sprintf("set KURA_BACKUP_SCRATCH_URL to a URL of this server whose role may create databases (%s uses %s's role %s when it is unset), or let %s: %s",
		"backup verify", name, role, role, scratchGrant(d, role))
}

// explainScratch adds to a verify that could not make or fill its scratch
// database which role tried and what to change.
func explainScratch(cfg Config, err error) error {
	if !errors.Is(err, backup.ErrScratchDenied) {
		return err
	}
	return fmt.Errorf("%w\nfix: %s", err, scratchFix(cfg))
}

// checkRestoreRole refuses a restore into the database of DATABASE_URL as
// its role while KURA_MIGRATE_DATABASE_URL names another one: with kura
// db roles, that is the application role, which may not drop or create
// tables, and a restore does both. The migration role restores.
func checkRestoreRole(cfg Config, to string) error {
	if cfg.MigrateDatabaseURL == "" {
		return nil
	}
	d, _ := sqldb.ParseDialect(to)
	if d == sqldb.SQLite {
		return nil
	}
	_, toAddr, toDB := app.ServerOf(to)
	_, appAddr, appDB := app.ServerOf(cfg.URL())
	toRole, appRole, migRole := roleOf(to), roleOf(cfg.URL()), roleOf(cfg.MigrateDatabaseURL)
	if toAddr != appAddr || toDB != appDB || toRole != appRole || toRole == migRole {
		return nil
	}
	return fmt.Errorf("restore: the target logs in as %s, DATABASE_URL's role, which serves and may not drop or create tables: "+
		"restore as the migration role, --to-env KURA_MIGRATE_DATABASE_URL (%s)", toRole, migRole)
}
