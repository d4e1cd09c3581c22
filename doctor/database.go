package doctor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/sqldb/roles"
)

// RolesFix is the fix of a serving role that may change the schema.
const RolesFix = "serve as a role that cannot change the schema: run kura db roles --apply, then set DATABASE_URL to the application role and KURA_MIGRATE_DATABASE_URL to the migration role"

// checkDatabaseRole: the role kura serves with is not a superuser, owns
// neither the schema nor its tables, and cannot run DDL (roles.Findings).
func checkDatabaseRole(ctx context.Context, e *Env) Result {
	if e.dialect() == sqldb.SQLite {
		return ok("SQLite has no roles: the file's mode protects it (see sqlite-file)")
	}
	if e.DB == nil {
		return fail("check DATABASE_URL and that the server answers", "cannot connect to the database: %v", e.DBErr)
	}
	user, findings, err := roles.Findings(ctx, e.DB)
	switch {
	case err != nil:
		return fail("check that the role may read the catalog", "cannot read the role's rights: %v", err)
	case len(findings) > 0:
		return fail(RolesFix, "kura serves as %s, which %s", user, strings.Join(findings, ", "))
	}
	return ok("kura serves as %s: not a superuser, owns nothing of the schema, cannot change it", user)
}

// CreateAdminArgs is the command, after "kura ", that makes the first admin.
const CreateAdminArgs = "users create --email ADDRESS --username NAME --admin"

// CountAdmins returns the number of admin accounts in kura's users table.
func CountAdmins(ctx context.Context, db *sqldb.DB) (int, error) {
	var n int
	err := db.Reader().QueryRowContext(ctx, "SELECT count(*) FROM users WHERE role = 'admin'").Scan(&n)
	return n, err
}

// checkAdmin: an admin account exists.
func checkAdmin(ctx context.Context, e *Env) Result {
	if e.DB == nil {
		return warn("check DATABASE_URL", "cannot tell: the database did not open (%v)", e.DBErr)
	}
	n, err := CountAdmins(ctx, e.DB)
	if err != nil {
		return warn("run kura migrate up if the database is new", "cannot count admin accounts: %v", err)
	}
	if n == 0 {
		return warn("kura "+CreateAdminArgs, "no admin account")
	}
	return ok("%d admin account(s)", n)
}

// checkReplicas: each read replica of DATABASE_REPLICA_URLS is reached
// over TLS or locally, is a standby in recovery (a URL naming the primary
// keeps kura from starting), and serves reads within KURA_REPLICA_MAX_LAG;
// one down or lagging is a warning, since its reads go to the primary.
func checkReplicas(_ context.Context, e *Env) Result {
	if len(e.ReplicaURLs) == 0 {
		return ok("no read replicas (DATABASE_REPLICA_URLS is unset)")
	}
	worst := ok("")
	var msgs []string
	note := func(r Result) {
		worst = worse(worst, r)
		msgs = append(msgs, r.Message)
	}
	for i, raw := range e.ReplicaURLs {
		name := fmt.Sprintf("replica %d", i+1)
		t, err := sqldb.URLTransport(raw)
		switch {
		case err != nil:
			note(fail("correct DATABASE_REPLICA_URLS", "%s does not parse: %v", name, err))
		case !t.Local && !t.Encrypted:
			note(fail("set "+t.Fix+" in DATABASE_REPLICA_URLS", "%s reaches %s without TLS: its password and data cross the network in clear", name, t.Host))
		case !t.Local && !t.Verified:
			note(warn("set "+t.Fix+" in DATABASE_REPLICA_URLS, which checks the certificate and the host name", "%s reaches %s over TLS without checking the server's certificate and name", name, t.Host))
		}
	}
	switch {
	case e.DB == nil && e.DBErr != nil && strings.Contains(e.DBErr.Error(), "replica"):
		note(fail("name streaming standbys of DATABASE_URL in DATABASE_REPLICA_URLS, or unset it", "%v", e.DBErr))
	case e.DB == nil:
		note(ok("replicas not checked: the database did not open"))
	default:
		for i, r := range e.DB.ReplicaStats() {
			if r.InUse {
				note(ok("replica %d (%s) serves reads, %s behind", i+1, r.Name, r.Lag.Round(time.Millisecond)))
				continue
			}
			note(warn("start replica "+strconv.Itoa(i+1)+" or see why it lags (pg_stat_replication on the primary); KURA_REPLICA_MAX_LAG sets the bound",
				"replica %d (%s) is skipped (%s): its reads go to the primary", i+1, r.Name, r.Skipped))
		}
	}
	worst.Message = strings.Join(msgs, "; ")
	return worst
}
