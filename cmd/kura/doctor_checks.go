package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/sqldb"
)

// doctorChecks is the security checklist, in the order doctor prints it.
var doctorChecks = []check{
	{"secrets", checkSecrets},
	{"env-file", checkEnvFile},
	{"database-tls", checkDatabaseTLS},
	{"database-role", checkDatabaseRole},
	{"backups", checkBackups},
	{"sqlite-file", checkSQLiteFile},
	{"read-replicas", checkReplicas},
	{"redis", checkRedis},
	{"admin", checkAdmin},
	{"sessions", checkSessions},
	{"rate-limits", checkRateLimits},
	{"metrics", checkMetrics},
}

const rolesFix = "serve as a role that cannot change the schema: run kura db roles --apply, then set DATABASE_URL to the application role and KURA_MIGRATE_DATABASE_URL to the migration role"

// secretVariables returns the names of the variables of e that hold a
// secret: a password in a URL, DB_PASSWORD, KURA_METRICS_TOKEN.
func (e *doctorEnv) secretVariables() []string {
	var names []string
	for _, n := range []string{"DATABASE_URL", "KURA_MIGRATE_DATABASE_URL", "REDIS_URL", "DATABASE_REPLICA_URLS"} {
		v := e.environ[n]
		if e.source(n) != "the environment" {
			v = e.dotenv[n]
		}
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				names = append(names, n)
			}
		}
	}
	for _, n := range []string{"DB_PASSWORD", "KURA_METRICS_TOKEN"} {
		if e.source(n) != "" {
			names = append(names, n)
		}
	}
	return names
}

// checkSecrets: the secrets come from the environment or a .env file that
// git does not track, never from a committed file.
func checkSecrets(_ context.Context, e *doctorEnv) checkResult {
	names := e.secretVariables()
	if len(names) == 0 {
		return ok("no secret is set (no database password, Redis password or metrics token)")
	}
	var fromFile []string
	for _, n := range names {
		if e.source(n) != "the environment" {
			fromFile = append(fromFile, n)
		}
	}
	if len(fromFile) == 0 {
		return ok("secrets from the environment: %s", strings.Join(names, ", "))
	}
	if st, err := e.tracked(e.envFile); err == nil && st == gitTracked {
		return fail("git rm --cached "+e.envFile+", add it to .gitignore, and change the secrets it held: they are in the repository's history",
			"secrets in %s, a file git tracks: %s", e.envFile, strings.Join(fromFile, ", "))
	}
	return ok("secrets from %s, which git does not track: %s; the rest from the environment", e.envFile, strings.Join(fromFile, ", "))
}

// gitStatus is where a file stands with git.
type gitStatus int

const (
	gitNoRepo    gitStatus = iota // no .git in its folder or above
	gitIgnored                    // in a work tree, ignored
	gitUntracked                  // in a work tree, neither tracked nor ignored
	gitTracked                    // committed or added
)

// gitStatusOf returns where path stands with git, asking git when a .git
// is in path's folder or above.
func gitStatusOf(path string) (gitStatus, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return gitNoRepo, err
	}
	dir := filepath.Dir(abs)
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			break
		}
		if filepath.Dir(d) == d {
			return gitNoRepo, nil
		}
	}
	base := filepath.Base(abs)
	if exec.Command("git", "-C", dir, "ls-files", "--error-unmatch", "--", base).Run() == nil {
		return gitTracked, nil
	}
	err = exec.Command("git", "-C", dir, "check-ignore", "-q", "--", base).Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return gitIgnored, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return gitUntracked, nil
	}
	return gitNoRepo, fmt.Errorf("git: %w", err)
}

// checkEnvFile: the .env file, if any, is readable by its owner only and
// not in git.
func checkEnvFile(_ context.Context, e *doctorEnv) checkResult {
	if e.dotenv == nil {
		return ok("no .env file: the configuration comes from the environment")
	}
	fi, err := os.Stat(e.envFile)
	if err != nil {
		return fail("", "%s: %v", e.envFile, err)
	}
	st, gerr := e.tracked(e.envFile)
	switch {
	case fi.Mode().Perm()&0o077 != 0:
		r := fail(modeFix(e.envFile, fi.Mode().Perm()&^0o077), "%s is mode %04o: %s may read it", e.envFile, fi.Mode().Perm(), whoMay(fi.Mode().Perm()&0o077))
		r.repair = chmodRepair(e.envFile, fi.Mode().Perm()&^0o077)
		return r
	case gerr != nil:
		return warn("make sure git does not track "+e.envFile, "%s is 0600; whether git tracks it is unknown: %v", e.envFile, gerr)
	case st == gitTracked:
		return fail("git rm --cached "+e.envFile+", add it to .gitignore, and change the secrets it held", "%s is tracked by git", e.envFile)
	case st == gitUntracked:
		return warn("add "+e.envFile+" to .gitignore", "%s is 0600 but not ignored by git: one git add -A commits it", e.envFile)
	}
	return ok("%s is 0600 and not in git", e.envFile)
}

// checkDatabaseTLS: a database off loopback is reached over TLS that
// checks the server's certificate and name.
func checkDatabaseTLS(_ context.Context, e *doctorEnv) checkResult {
	urls := map[string]string{"DATABASE_URL": e.cfg.URL()}
	if e.cfg.MigrateDatabaseURL != "" {
		urls["KURA_MIGRATE_DATABASE_URL"] = e.cfg.MigrateDatabaseURL
	}
	worst := ok("")
	var msgs []string
	for _, name := range []string{"DATABASE_URL", "KURA_MIGRATE_DATABASE_URL"} {
		raw, set := urls[name]
		if !set {
			continue
		}
		t, err := sqldb.URLTransport(raw)
		d, _ := sqldb.ParseDialect(raw)
		var r checkResult
		switch {
		case err == nil && d == sqldb.SQLite:
			r = ok("%s: SQLite, a local file with no network", name)
		case err != nil:
			r = fail("correct "+name, "%s does not parse: %v", name, err)
		case t.Local:
			r = ok("%s: %s is local, TLS is not needed", name, t.Host)
		case !t.Encrypted:
			r = fail("set "+t.Fix+" in "+name+" (KURA_DB_ALLOW_INSECURE only hides this)", "%s reaches %s without TLS: its password and data cross the network in clear", name, t.Host)
		case !t.Verified:
			r = warn("set "+t.Fix+" in "+name+", which checks the certificate and the host name", "%s reaches %s over TLS without checking the server's certificate and name", name, t.Host)
		default:
			r = ok("%s reaches %s over TLS, certificate and name checked", name, t.Host)
		}
		worst = worse(worst, r)
		msgs = append(msgs, r.Message)
	}
	worst.Message = strings.Join(msgs, "; ")
	return worst
}

// worse returns the worse of a and b, a on a tie; its fix is kept.
func worse(a, b checkResult) checkResult {
	rank := map[string]int{statusOK: 0, statusWarn: 1, statusFail: 2}
	if rank[b.Status] > rank[a.Status] {
		return b
	}
	return a
}

// checkDatabaseRole: the role kura serves with is not a superuser, owns
// neither the schema nor its tables, and cannot run DDL.
func checkDatabaseRole(ctx context.Context, e *doctorEnv) checkResult {
	if d, _ := sqldb.ParseDialect(e.cfg.URL()); d == sqldb.SQLite {
		return ok("SQLite has no roles: the file's mode protects it (see sqlite-file)")
	}
	if e.db == nil {
		return fail("check DATABASE_URL and that the server answers", "cannot connect to the database: %v", e.dbErr)
	}
	var findings []string
	var user string
	var err error
	if e.db.Dialect() == sqldb.Postgres {
		user, findings, err = postgresRoleFindings(ctx, e.db)
	} else {
		user, findings, err = mysqlRoleFindings(ctx, e.db)
	}
	switch {
	case err != nil:
		return fail("check that the role may read the catalog", "cannot read the role's rights: %v", err)
	case len(findings) > 0:
		return fail(rolesFix, "kura serves as %s, which %s", user, strings.Join(findings, ", "))
	}
	return ok("kura serves as %s: not a superuser, owns nothing of the schema, cannot change it", user)
}

func postgresRoleFindings(ctx context.Context, db *sqldb.DB) (string, []string, error) {
	var user string
	var super, ownsSchema, create, createDB bool
	var tables int
	err := db.Reader().QueryRowContext(ctx, `
SELECT current_user, r.rolsuper,
       n.nspowner = r.oid,
       (SELECT count(*) FROM pg_tables t WHERE t.schemaname = n.nspname AND t.tableowner = current_user),
       has_schema_privilege(n.oid, 'CREATE'),
       has_database_privilege(current_database(), 'CREATE')
  FROM pg_roles r, pg_namespace n
 WHERE r.rolname = current_user AND n.nspname = coalesce(current_schema(), 'public')`).
		Scan(&user, &super, &ownsSchema, &tables, &create, &createDB)
	if err != nil {
		return "", nil, err
	}
	var f []string
	if super {
		f = append(f, "is a superuser")
	}
	if ownsSchema {
		f = append(f, "owns the schema")
	}
	if tables > 0 {
		f = append(f, fmt.Sprintf("owns %d of its tables", tables))
	}
	if create && !ownsSchema && !super {
		f = append(f, "may create objects in the schema")
	}
	if createDB && !super {
		f = append(f, "may create schemas in the database")
	}
	return user, f, nil
}

// ddlPrivileges are MySQL privileges that change the schema or the
// server, which the application role must not hold.
var ddlPrivileges = []string{"ALL", "ALL PRIVILEGES", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES", "CREATE VIEW",
	"CREATE ROUTINE", "ALTER ROUTINE", "TRIGGER", "EVENT", "SUPER", "CREATE USER", "FILE", "RELOAD", "SHUTDOWN", "GRANT OPTION"}

func mysqlRoleFindings(ctx context.Context, db *sqldb.DB) (string, []string, error) {
	var user string
	if err := db.Reader().QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&user); err != nil {
		return "", nil, err
	}
	rows, err := db.Reader().QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	var held []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return "", nil, err
		}
		// GRANT priv, priv ON obj TO user [IDENTIFIED BY PASSWORD …] [WITH GRANT OPTION]:
		// only the privileges are read (the rest may hold a password hash).
		privs, _, found := strings.Cut(strings.TrimPrefix(g, "GRANT "), " ON ")
		if !found {
			continue
		}
		for _, p := range strings.Split(privs, ", ") {
			if slices.Contains(ddlPrivileges, strings.TrimSpace(p)) && !slices.Contains(held, p) {
				held = append(held, p)
			}
		}
		if strings.HasSuffix(g, "WITH GRANT OPTION") && !slices.Contains(held, "GRANT OPTION") {
			held = append(held, "GRANT OPTION")
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	if len(held) == 0 {
		return user, nil, nil
	}
	return user, []string{"holds " + strings.Join(held, ", ")}, nil
}

// backupStatus is what the backups' run log says: when the last backup
// succeeded and when one last passed its verify (zero: never), and why
// the last attempt failed ("" if it did not).
type backupStatus struct {
	LastSuccess  time.Time
	LastVerified time.Time
	LastFailure  string
	FailedVerify string // the last backup's name when its verify did not pass
}

// backupsOf reads the run log of the database e opened; nil when there is
// none yet (no database, or one without kura's migration 5).
func backupsOf(e *doctorEnv) func(ctx context.Context) (*backupStatus, error) {
	return func(ctx context.Context) (*backupStatus, error) {
		if e.db == nil {
			return nil, nil
		}
		list, err := e.db.MigrationStatus(ctx, sqldb.Schema)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(list, func(s sqldb.MigrationStatus) bool { return s.Version == 5 && s.Applied }) {
			return nil, nil
		}
		st, err := backup.ReadStatus(ctx, e.db)
		if err != nil || st.Last == nil {
			return nil, err
		}
		var bs backupStatus
		if st.LastSuccess != nil {
			bs.LastSuccess = st.LastSuccess.Ended
		}
		if st.LastVerified != nil && st.LastVerified.Verified != nil {
			bs.LastVerified = st.LastVerified.Verified.At
		}
		if !st.Last.OK {
			bs.LastFailure = oneLine(st.Last.Problem, 120)
		}
		if v := st.Last.Verified; v != nil && !v.OK {
			bs.FailedVerify = st.Last.Name
		}
		return &bs, nil
	}
}

// scratchOf returns what keeps backup verify from making its scratch
// database on the server of e's configuration, "" when nothing does (or
// on SQLite, whose scratch copy is a temporary file): the role of
// KURA_BACKUP_SCRATCH_URL, else of KURA_MIGRATE_DATABASE_URL, else of
// DATABASE_URL, must be allowed to create databases. It reads the role's
// rights and creates nothing.
func scratchOf(e *doctorEnv) func(ctx context.Context) string {
	return func(ctx context.Context) string {
		name, raw := scratchSource(e.cfg)
		d, err := sqldb.ParseDialect(raw)
		if err != nil || d == sqldb.SQLite {
			return ""
		}
		role := roleOf(raw)
		db := e.db
		if raw != e.cfg.URL() || db == nil {
			cfg := e.cfg
			cfg.LogLevel = max(cfg.LogLevel, slog.LevelError)
			db, err = sqldb.Open(ctx, sqldb.Config{URL: raw, PoolSize: 1, MaxOverflow: -1, AllowInsecure: e.cfg.AllowInsecure,
				Logger: cfg.Logger(io.Discard)})
			if err != nil {
				return fmt.Sprintf("cannot connect as %s (%s) to see its rights: %v", role, name, err)
			}
			defer db.Close()
		}
		may, err := mayMakeScratch(ctx, db)
		switch {
		case err != nil:
			return fmt.Sprintf("cannot read the rights of %s (%s): %v", role, name, err)
		case !may:
			return fmt.Sprintf("%s, the role of %s, may not create the scratch database it restores into", role, name)
		}
		return ""
	}
}

// mayMakeScratch reports whether db's role may create, fill and drop the
// scratch databases of backup verify: on PostgreSQL a superuser or a role
// with CREATEDB; on MySQL/MariaDB one whose grants, on every database or
// on names like kura_verify_…, hold what restoring a dump takes.
func mayMakeScratch(ctx context.Context, db *sqldb.DB) (bool, error) {
	if db.Dialect() == sqldb.Postgres {
		var may bool
		err := db.Reader().QueryRowContext(ctx, `SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&may)
		return may, err
	}
	rows, err := db.Reader().QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var grants []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return false, err
		}
		grants = append(grants, g)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	return grantsMakeScratch(grants), nil
}

// scratchPrivileges are what a verify's restore into its scratch database
// takes on MySQL/MariaDB.
var scratchPrivileges = []string{"CREATE", "DROP", "SELECT", "INSERT", "ALTER", "LOCK TABLES"}

// grantsMakeScratch reads SHOW GRANTS: whether the grants on *.* and on
// the database patterns that match a scratch database's name hold every
// one of scratchPrivileges. Rights that come through a role are not seen.
func grantsMakeScratch(grants []string) bool {
	const scratch = "kura_verify_0123456789ab"
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

// maxVerifyAge is the age past which the last verified backup is too old:
// a week of daily backups, one verified in seven, and a day's slack.
const maxVerifyAge = 8 * 24 * time.Hour

// checkBackups: a recent backup succeeded and one was verified lately,
// and backup verify can make its scratch database.
func checkBackups(ctx context.Context, e *doctorEnv) checkResult {
	r := checkBackupRuns(ctx, e)
	if e.scratch == nil {
		return r
	}
	p := e.scratch(ctx)
	if p == "" {
		return r
	}
	v := fail(scratchFix(e.cfg), "backup verify cannot run: %s", p)
	if r.Status != statusOK {
		v.Message += "; " + r.Message
	}
	return v
}

// checkBackupRuns: what the run log says.
func checkBackupRuns(ctx context.Context, e *doctorEnv) checkResult {
	st, err := e.backups(ctx)
	maxAge := 48 * time.Hour
	if i := e.cfg.BackupInterval.D(); i > 0 {
		maxAge = max(2*i, time.Hour)
	}
	switch {
	case err != nil:
		return fail("check the backups", "cannot read the backups' status: %v", err)
	case st == nil && e.cfg.BackupInterval <= 0:
		return warn("set KURA_BACKUP_INTERVAL (such as 24h), or run kura backup create from cron", "no backup taken yet, and scheduled backups are off")
	case st == nil:
		return warn("start kura serve or kura worker (they take the first backup at once), or run kura backup create", "no backup taken yet")
	case st.LastFailure != "":
		return fail("see the error, run kura backup create to retry", "the last backup failed: %s", st.LastFailure)
	case st.FailedVerify != "":
		return fail("kura backup list --json says why (verified.problem); then take and verify a new one: kura backup create, kura backup verify --latest",
			"the last backup, %s, failed its verify: it does not restore as its manifest says", st.FailedVerify)
	case st.LastSuccess.IsZero() || time.Since(st.LastSuccess) > maxAge:
		return fail("run kura backup create and see why the scheduled ones stopped", "no successful backup in %s", Seconds(maxAge.Round(time.Hour)))
	case st.LastVerified.IsZero():
		return warn("run kura backup verify --latest now: until a verify passes, nothing shows that the backups restore",
			"the last backup (%s) succeeded, but no backup has passed a verify yet%s", st.LastSuccess.UTC().Format(time.RFC3339), verifyScheduleNote(e))
	case time.Since(st.LastVerified) > maxVerifyAge:
		return warn(`run kura backup verify --latest, and look in the log for why the scheduled verifies stopped ("the scheduled verify could not run")`,
			"the last backup (%s) succeeded, but the last verify that passed was %d days ago (more than %d)",
			st.LastSuccess.UTC().Format(time.RFC3339), int(time.Since(st.LastVerified)/(24*time.Hour)), maxVerifyAge/(24*time.Hour))
	}
	return ok("last backup %s; last verified %s", st.LastSuccess.UTC().Format(time.RFC3339), st.LastVerified.UTC().Format(time.RFC3339))
}

// verifyScheduleNote says when the scheduled backups verify one, for a
// backup status that has none verified yet: on a new install on a server
// the first verify comes with the 7th daily backup.
func verifyScheduleNote(e *doctorEnv) string {
	if e.cfg.BackupInterval <= 0 {
		return " (scheduled backups are off: only a verify by hand checks them)"
	}
	every := e.cfg.BackupVerifyEvery
	if every <= 0 {
		every = backup.DefaultVerifyEveryServer
		if d, _ := sqldb.ParseDialect(e.cfg.URL()); d == sqldb.SQLite {
			every = backup.DefaultVerifyEverySQLite
		}
	}
	if every == 1 {
		return " (scheduled backups verify each one: the last verify did not pass or could not run; see the log)"
	}
	return fmt.Sprintf(" (scheduled backups verify one in %d, KURA_BACKUP_VERIFY_EVERY: on a new install the first verify comes with the %d%s scheduled backup)",
		every, every, ordinalSuffix(every))
}

func ordinalSuffix(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return "th"
	case n%10 == 1:
		return "st"
	case n%10 == 2:
		return "nd"
	case n%10 == 3:
		return "rd"
	}
	return "th"
}

// checkSQLiteFile: the SQLite file (and its -wal and -shm) are 0600, its
// folder closed to others and to its group's writes.
func checkSQLiteFile(_ context.Context, e *doctorEnv) checkResult {
	if d, _ := sqldb.ParseDialect(e.cfg.URL()); d != sqldb.SQLite {
		return ok("not SQLite")
	}
	path, err := sqldb.SQLitePath(e.cfg.URL())
	if err != nil {
		return fail("correct DATABASE_URL", "%v", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	dir := filepath.Dir(path)
	di, derr := os.Stat(dir)
	if derr == nil && di.Mode().Perm()&0o027 != 0 {
		return folderTooOpen(dir, di.Mode().Perm())
	}
	fi, err := os.Stat(path)
	if err != nil {
		made := "creates it 0600"
		if derr != nil {
			made = "creates it 0600, and its folder 0750"
		}
		return warn(fmt.Sprintf("kura migrate up, or the first kura serve, %s; if kura already serves, it uses another file: give doctor the service's DATABASE_URL and working folder", made),
			"no database file at %s yet", path)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			r := fail(modeFix(p, fi.Mode().Perm()&^0o077), "%s is mode %04o: %s may read the password hashes", p, fi.Mode().Perm(), whoMay(fi.Mode().Perm()&0o077))
			r.repair = chmodRepair(p, fi.Mode().Perm()&^0o077)
			return r
		}
	}
	if derr != nil {
		return fail("", "%s: %v", dir, derr)
	}
	return ok("%s is mode %04o, its folder %04o", path, fi.Mode().Perm(), di.Mode().Perm())
}

// folderTooOpen is the finding of a SQLite file's folder that others may
// read or enter, or that its group or others may write.
func folderTooOpen(dir string, perm fs.FileMode) checkResult {
	var what []string
	if w := perm & 0o022; w != 0 {
		what = append(what, whoMay(w)+" may create, replace or delete the database's files in it")
	}
	if perm&0o004 != 0 {
		what = append(what, "others may list its files")
	}
	if perm&0o001 != 0 {
		what = append(what, "others may open the files in it that their own mode lets them")
	}
	want := perm &^ 0o027
	r := fail(modeFix(dir, want), "the folder %s is mode %04o: %s", dir, perm, strings.Join(what, ", and "))
	r.repair = chmodRepair(dir, want)
	return r
}

// whoMay names the classes of users the permission bits perm (of group
// and others only) give a right to.
func whoMay(perm fs.FileMode) string {
	switch {
	case perm&0o070 != 0 && perm&0o007 != 0:
		return "its group and others"
	case perm&0o070 != 0:
		return "its group"
	}
	return "others"
}

// modeFix is the fix that gives path mode: chmod where there is a chmod
// program, and kura doctor --fix, which sets it from wherever kura runs
// (kura's image has no shell and no chmod).
func modeFix(path string, mode fs.FileMode) string {
	if _, err := exec.LookPath("chmod"); err == nil {
		return fmt.Sprintf("chmod %o %s, or kura doctor --fix", mode, path)
	}
	return fmt.Sprintf("kura doctor --fix, which sets %s to mode %04o from here (no chmod program is installed where kura runs)", path, mode)
}

// chmodRepair is the repair of kura doctor --fix that gives path mode.
func chmodRepair(path string, mode fs.FileMode) func() (string, error) {
	return func() (string, error) {
		if err := os.Chmod(path, mode); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s is now mode %04o", path, mode), nil
	}
}

// checkRedis: a Redis off loopback has a password and TLS (rediss://).
func checkRedis(_ context.Context, e *doctorEnv) checkResult {
	if e.cfg.RedisURL == "" {
		return ok("no Redis")
	}
	u, err := url.Parse(e.cfg.RedisURL)
	if err != nil {
		return fail("correct REDIS_URL", "REDIS_URL does not parse")
	}
	if u.Scheme == "unix" || isLoopback(u.Hostname()) {
		return ok("Redis is local (%s)", cmpOr(u.Hostname(), "a socket"))
	}
	_, hasPassword := u.User.Password()
	switch {
	case !hasPassword && u.Scheme != "rediss":
		return fail("set a password (requirepass or an ACL user) and use rediss:// in REDIS_URL", "Redis at %s has neither a password nor TLS", u.Hostname())
	case !hasPassword:
		return fail("set a password (requirepass or an ACL user) in REDIS_URL", "Redis at %s has no password", u.Hostname())
	case u.Scheme != "rediss":
		return fail("use rediss:// (TLS) in REDIS_URL", "Redis at %s is reached without TLS: its password and the cached sessions cross the network in clear", u.Hostname())
	}
	return ok("Redis at %s: password and TLS", u.Hostname())
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// checkAdmin: an admin account exists.
func checkAdmin(ctx context.Context, e *doctorEnv) checkResult {
	if e.db == nil {
		return warn("check DATABASE_URL", "cannot tell: the database did not open (%v)", e.dbErr)
	}
	n, err := countAdmins(ctx, e.db)
	if err != nil {
		return warn("run kura migrate up if the database is new", "cannot count admin accounts: %v", err)
	}
	if n == 0 {
		return warn("kura "+createAdminArgs, "no admin account")
	}
	return ok("%d admin account(s)", n)
}

// maxSessionTTL is the longest session lifetime doctor finds sane.
const maxSessionTTL = 30 * 24 * time.Hour

// checkSessions: the session lifetime is bounded and the password hash's
// parameters are at least OWASP's argon2id minimums.
func checkSessions(_ context.Context, e *doctorEnv) checkResult {
	h := e.hash
	hashOK := (h.memoryKiB >= 19456 && h.time >= 2) || (h.memoryKiB >= 47104 && h.time >= 1)
	if !hashOK || h.threads < 1 {
		return fail("raise the password package's Memory and Time to OWASP's argon2id minimum (19 MiB and 2 passes, or 46 MiB and 1)",
			"argon2id with %d KiB, %d passes, %d lanes is below OWASP's minimum", h.memoryKiB, h.time, h.threads)
	}
	ttl := e.cfg.SessionTTL
	if ttl.D() > maxSessionTTL {
		return warn(fmt.Sprintf("set KURA_SESSION_TTL to %s or less", Seconds(maxSessionTTL)), "sessions live %s: a stolen token stays good that long", ttl)
	}
	return ok("sessions live %s; argon2id with %d KiB, %d passes, %d lanes", ttl, h.memoryKiB, h.time, h.threads)
}

// rateLimitVariables returns the variables of this kura's rate limits:
// KURA_RATE_LIMIT, the switch, and the limits (KURA_*_RATE).
func rateLimitVariables() []variable {
	var out []variable
	for _, v := range variables {
		if v.field != nil && (v.name == "KURA_RATE_LIMIT" || strings.HasSuffix(v.name, "_RATE")) {
			out = append(out, v)
		}
	}
	return out
}

// checkRateLimits: the rate limits are on: the switch, and each limit
// (a zero limit is the default, which is on; "off" is ratelimit.NoLimit).
func checkRateLimits(_ context.Context, e *doctorEnv) checkResult {
	if len(e.rateVars) == 0 {
		return warn("put a rate limit in front of POST /api/auth/login and POST /api/users (a proxy's) until kura has its own", "rate limits not configured")
	}
	var on, off []string
	for _, v := range e.rateVars {
		switch p := v.field(&e.cfg).(type) {
		case *bool:
			if !*p {
				return warn("unset "+v.name+" (it is for benchmarks)", "rate limits are off (%s=false)", v.name)
			}
		case *ratelimit.Limit:
			switch {
			case *p == (ratelimit.Limit{}):
				on = append(on, v.name+" (the default)")
			case p.Off():
				off = append(off, v.name)
			default:
				on = append(on, v.name+"="+p.String())
			}
		}
	}
	if len(off) > 0 {
		return warn("set "+strings.Join(off, ", ")+" to a limit such as 10/1m, or unset it for the default", "rate limits off: %s", strings.Join(off, ", "))
	}
	return ok("rate limits on: %s", strings.Join(on, ", "))
}

// checkMetrics: the metrics are not public: the listener is on loopback,
// or every /metrics needs KURA_METRICS_TOKEN.
func checkMetrics(_ context.Context, e *doctorEnv) checkResult {
	addr, token := e.cfg.MetricsAddr, e.cfg.MetricsToken != ""
	if addr == "" && !token {
		return ok("metrics are off")
	}
	if token {
		return ok("every /metrics needs KURA_METRICS_TOKEN")
	}
	host, _, err := net.SplitHostPort(addr)
	if err == nil && isLoopback(host) {
		return ok("the metrics listener is on loopback (%s)", addr)
	}
	return fail("set KURA_METRICS_ADDR to a loopback address such as 127.0.0.1:9464, or set KURA_METRICS_TOKEN",
		"the metrics listener at %s answers anyone who reaches it, without a token", addr)
}

// createAdminArgs is the command, after "kura ", that makes the first admin.
const createAdminArgs = "users create --email ADDRESS --username NAME --admin"

// countAdmins returns the number of admin accounts.
func countAdmins(ctx context.Context, db *sqldb.DB) (int, error) {
	var n int
	err := db.Reader().QueryRowContext(ctx, "SELECT count(*) FROM users WHERE role = 'admin'").Scan(&n)
	return n, err
}

// checkReplicas: each read replica of DATABASE_REPLICA_URLS is reached
// over TLS or locally, is a standby in recovery (a URL naming the primary
// keeps kura from starting), and serves reads within KURA_REPLICA_MAX_LAG;
// one down or lagging is a warning, since its reads go to the primary.
func checkReplicas(_ context.Context, e *doctorEnv) checkResult {
	urls := e.cfg.ReplicaURLList()
	if len(urls) == 0 {
		return ok("no read replicas (DATABASE_REPLICA_URLS is unset)")
	}
	worst := ok("")
	var msgs []string
	note := func(r checkResult) {
		worst = worse(worst, r)
		msgs = append(msgs, r.Message)
	}
	for i, raw := range urls {
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
	case e.db == nil && e.dbErr != nil && strings.Contains(e.dbErr.Error(), "replica"):
		note(fail("name streaming standbys of DATABASE_URL in DATABASE_REPLICA_URLS, or unset it", "%v", e.dbErr))
	case e.db == nil:
		note(ok("replicas not checked: the database did not open"))
	default:
		for i, r := range e.db.ReplicaStats() {
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
