package main

import (
	"errors"
	"fmt"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/sqldb/roles"
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
func roleOf(rawURL string) string { return sqldb.URLUser(rawURL) }

// scratchFix says what lets backup verify make its scratch database.
func scratchFix(cfg Config) string {
	name, raw := scratchSource(cfg)
	d, _ := sqldb.ParseDialect(raw)
	role := roleOf(raw)
	if name == "KURA_BACKUP_SCRATCH_URL" {
		return fmt.Sprintf("let %s, the role of KURA_BACKUP_SCRATCH_URL, create them: %s; or set KURA_BACKUP_SCRATCH_URL to a role that may", role, roles.ScratchGrant(d, role))
	}
	return fmt.Sprintf("set KURA_BACKUP_SCRATCH_URL to a URL of this server whose role may create databases (%s uses %s's role %s when it is unset), or let %s: %s",
		"backup verify", name, role, role, roles.ScratchGrant(d, role))
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
	_, toAddr, toDB := sqldb.Server(to)
	_, appAddr, appDB := sqldb.Server(cfg.URL())
	toRole, appRole, migRole := roleOf(to), roleOf(cfg.URL()), roleOf(cfg.MigrateDatabaseURL)
	if toAddr != appAddr || toDB != appDB || toRole != appRole || toRole == migRole {
		return nil
	}
	return fmt.Errorf("restore: the target logs in as %s, DATABASE_URL's role, which serves and may not drop or create tables: "+
		"restore as the migration role, --to-env KURA_MIGRATE_DATABASE_URL (%s)", toRole, migRole)
}
