package roles

import (
	"context"
	"regexp"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// The backups' scratch databases (package backup) on MySQL/MariaDB are
// named with these prefixes: verify restores into the first, restore
// loads into the second before it swaps the tables in.
const (
	VerifyPrefix  = "kura_verify_"
	RestorePrefix = "kura_restore_"
)

// MayMakeScratch reports whether db's role may create, fill and drop the
// scratch databases of backup verify: on PostgreSQL a superuser or a role
// with CREATEDB; on MySQL/MariaDB one whose grants, on every database or
// on names like kura_verify_…, hold what restoring a dump takes. It reads
// the catalog and creates nothing.
func MayMakeScratch(ctx context.Context, db *sqldb.DB) (bool, error) {
	if db.Dialect() == sqldb.Postgres {
		var may bool
		err := db.Reader().QueryRowContext(ctx, `SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&may)
		return may, err
	}
	grants, err := showGrants(ctx, db)
	if err != nil {
		return false, err
	}
	return GrantsMakeScratch(grants), nil
}

// ScratchGrant is the statement, run as a superuser, that lets role make
// and fill the scratch databases of backup verify, with a note on how it
// stands with kura db roles.
func ScratchGrant(d sqldb.Dialect, role string) string {
	if d == sqldb.MySQL {
		return "GRANT ALL PRIVILEGES ON " + ScratchPattern(VerifyPrefix) + ".* TO " + Literal(role) + "@'%'" +
			" (with the host part of the account, as kura db roles --host made it; kura db roles --apply grants it to the migration role)"
	}
	return "ALTER ROLE " + pgIdent(role) + " CREATEDB (kura db roles --apply takes it back: run it again after)"
}

// scratchPrivileges are what a verify's restore into its scratch database
// takes on MySQL/MariaDB.
var scratchPrivileges = []string{"CREATE", "DROP", "SELECT", "INSERT", "ALTER", "LOCK TABLES"}

// GrantsMakeScratch reads the lines of SHOW GRANTS: whether the grants on
// *.* and on the database patterns that match a scratch database's name
// hold every privilege a verify's restore takes. Rights that come through
// a role are not seen.
func GrantsMakeScratch(grants []string) bool {
	const scratch = VerifyPrefix + "0123456789ab"
	held := map[string]bool{}
	for _, g := range grants {
		privs, rest, found := strings.Cut(strings.TrimPrefix(g, "GRANT "), " ON ")
		if !found {
			continue
		}
		target, _, _ := strings.Cut(rest, " TO ")
		db, table, _ := strings.Cut(target, ".")
		if table != "*" || (db != "*" && !mysqlPatternMatches(strings.ReplaceAll(strings.Trim(db, "`"), "``", "`"), scratch)) {
			continue
		}
		for _, p := range strings.Split(privs, ", ") {
			held[strings.TrimSpace(p)] = true
		}
	}
	if held["ALL PRIVILEGES"] || held["ALL"] {
		return true
	}
	for _, p := range scratchPrivileges {
		if !held[p] {
			return false
		}
	}
	return true
}

// mysqlPatternMatches reports whether a database name pattern of a GRANT
// (% any run, _ any one character, \ escaping either) matches name.
func mysqlPatternMatches(pattern, name string) bool {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && i+1 < len(pattern):
			i++
			re.WriteString(regexp.QuoteMeta(string(pattern[i])))
		case c == '%':
			re.WriteString(".*")
		case c == '_':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	ok, _ := regexp.MatchString(re.String(), name)
	return ok
}
