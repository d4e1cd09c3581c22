package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/doctor"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// doctorEnvFor returns the doctor's view of a configuration given as
// environment variables, with envFile (which may be "") as its .env file,
// and the database opened when it exists.
func doctorEnvFor(t *testing.T, envFile string, environ ...string) *doctor.Env {
	t.Helper()
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Environ: environ}
	cf := &configFlags{envFile: envFile}
	e, err := m.doctorEnvOf(context.Background(), cf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDoctorEnv(e) })
	return e
}

// The checks of doctor.Checks, by name.
var (
	checkSecrets      = doctorCheck("secrets")
	checkEnvFile      = doctorCheck("env-file")
	checkDatabaseTLS  = doctorCheck("database-tls")
	checkDatabaseRole = doctorCheck("database-role")
	checkBackups      = doctorCheck("backups")
	checkSQLiteFile   = doctorCheck("sqlite-file")
	checkReplicas     = doctorCheck("read-replicas")
	checkRedis        = doctorCheck("redis")
	checkAdmin        = doctorCheck("admin")
	checkSessions     = doctorCheck("sessions")
	checkRateLimits   = doctorCheck("rate-limits")
	checkMetrics      = doctorCheck("metrics")
)

// doctorCheck returns the function of the check of doctor.Checks named name.
func doctorCheck(name string) func(context.Context, *doctor.Env) doctor.Result {
	c, ok := doctor.Lookup(name)
	if !ok {
		panic("no doctor check " + name)
	}
	return c.Run
}

// wantStatus runs fn over e and checks its status.
func wantStatus(t *testing.T, name string, fn func(context.Context, *doctor.Env) doctor.Result, e *doctor.Env, want doctor.Status) {
	t.Helper()
	r := fn(context.Background(), e)
	if r.Status != want {
		t.Errorf("%s: %s (%s; fix: %s), want %s", name, r.Status, r.Message, r.Fix, want)
	}
	if r.Status != doctor.OK && r.Fix == "" {
		t.Errorf("%s: %s without a fix: %s", name, r.Status, r.Message)
	}
}

// gitRepo makes a git work tree in a new folder and returns it.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command("git", "-C", dir, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	return dir
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestDoctor_Secrets(t *testing.T) {
	const url = "DATABASE_URL=postgres://app:s3cret@127.0.0.1:1/kura"
	dir := gitRepo(t)
	envFile := filepath.Join(dir, ".env")
	writeFile(t, envFile, url+"\n", 0o600)
	if out, err := exec.Command("git", "-C", dir, "add", ".env").CombinedOutput(); err != nil {
		t.Fatalf("git add: %v %s", err, out)
	}
	wantStatus(t, "password in a tracked .env", checkSecrets, doctorEnvFor(t, envFile), doctor.Fail)
	wantStatus(t, "password from the environment", checkSecrets, doctorEnvFor(t, "", url), doctor.OK)
	wantStatus(t, "no secret", checkSecrets, doctorEnvFor(t, ""), doctor.OK)

	untracked := filepath.Join(t.TempDir(), ".env")
	writeFile(t, untracked, url+"\nKURA_METRICS_TOKEN=0123456789abcdef0123\n", 0o600)
	wantStatus(t, "password in a .env outside git", checkSecrets, doctorEnvFor(t, untracked), doctor.OK)
}

func TestDoctor_EnvFile(t *testing.T) {
	wantStatus(t, "no .env", checkEnvFile, doctorEnvFor(t, filepath.Join(t.TempDir(), ".env")), doctor.OK)

	loose := filepath.Join(t.TempDir(), ".env")
	writeFile(t, loose, "KURA_LOG_LEVEL=info\n", 0o644)
	wantStatus(t, "mode 0644", checkEnvFile, doctorEnvFor(t, loose), doctor.Fail)
	writeFile(t, loose, "KURA_LOG_LEVEL=info\n", 0o600)
	wantStatus(t, "mode 0600, no git", checkEnvFile, doctorEnvFor(t, loose), doctor.OK)

	dir := gitRepo(t)
	envFile := filepath.Join(dir, ".env")
	writeFile(t, envFile, "KURA_LOG_LEVEL=info\n", 0o600)
	wantStatus(t, "in a work tree, not ignored", checkEnvFile, doctorEnvFor(t, envFile), doctor.Warn)
	writeFile(t, filepath.Join(dir, ".gitignore"), ".env\n", 0o644)
	wantStatus(t, "ignored", checkEnvFile, doctorEnvFor(t, envFile), doctor.OK)
	if out, err := exec.Command("git", "-C", dir, "add", "-f", ".env").CombinedOutput(); err != nil {
		t.Fatalf("git add: %v %s", err, out)
	}
	wantStatus(t, "tracked", checkEnvFile, doctorEnvFor(t, envFile), doctor.Fail)
}

func TestDoctor_DatabaseTLS(t *testing.T) {
	cases := []struct {
		env  []string
		want doctor.Status
	}{
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=disable"}, doctor.Fail},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=prefer"}, doctor.Fail},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=require"}, doctor.Warn},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=verify-full"}, doctor.OK},
		{[]string{"DATABASE_URL=postgres://app@127.0.0.1/kura?sslmode=disable"}, doctor.OK},
		{[]string{"DATABASE_URL=mysql://app@db.example.com/kura", "KURA_DB_ALLOW_INSECURE=true"}, doctor.Fail},
		{[]string{"DATABASE_URL=mysql://app@db.example.com/kura?tls=skip-verify"}, doctor.Warn},
		{[]string{"DATABASE_URL=mysql://app@db.example.com/kura?tls=true"}, doctor.OK},
		{[]string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "x.db")}, doctor.OK},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=verify-full",
			"KURA_MIGRATE_DATABASE_URL=postgres://m@db.example.com/kura?sslmode=disable"}, doctor.Fail},
	}
	for _, c := range cases {
		cfg, err := LoadConfig(c.env, "")
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, strings.Join(c.env, " "), checkDatabaseTLS, newDoctorEnv(cfg), c.want)
	}
}

// TestDoctor_DatabaseRole checks the role kura serves with on PostgreSQL
// and MariaDB: the superuser and the migration role fail, the application
// role of kura db roles passes.
func TestDoctor_DatabaseRole(t *testing.T) {
	for _, eng := range engines[1:] {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			admin := eng.url(t)
			migURL, appURL := roleURLs(t, admin)
			if _, logs, err := runKura(t, []string{"DATABASE_URL=" + migURL}, "", "migrate", "up"); err != nil {
				t.Fatalf("migrate up: %v\n%s", err, logs)
			}
			wantStatus(t, "the superuser", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL="+admin), doctor.Fail)
			if eng.name == "postgres" { // SECURITY.md's example: kura migrated and serves as the superuser
				owner := eng.url(t)
				if _, logs, err := runKura(t, []string{"DATABASE_URL=" + owner}, "", "migrate", "up"); err != nil {
					t.Fatalf("migrate up: %v\n%s", err, logs)
				}
				wantSecurityExample(t, "database-role", checkDatabaseRole(context.Background(), doctorEnvFor(t, "", "DATABASE_URL="+owner)), nil)
			}
			wantStatus(t, "the migration role", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL="+migURL), doctor.Fail)
			wantStatus(t, "the application role", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL="+appURL), doctor.OK)
			wantStatus(t, "an admin, on the application role", checkAdmin, doctorEnvFor(t, "", "DATABASE_URL="+appURL), doctor.Warn)
		})
	}
	wantStatus(t, "SQLite", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "k.db")), doctor.OK)
	wantStatus(t, "unreachable", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL=postgres://app@127.0.0.1:1/kura"), doctor.Fail)
}

func TestDoctor_Backups(t *testing.T) {
	cfg := defaultConfig()
	e := newDoctorEnv(cfg)
	e.Backups = func(context.Context) (*doctor.BackupStatus, error) { return nil, nil }
	wantStatus(t, "no backups yet", checkBackups, e, doctor.Warn)
	status := func(s doctor.BackupStatus) func(context.Context) (*doctor.BackupStatus, error) {
		return func(context.Context) (*doctor.BackupStatus, error) { return &s, nil }
	}
	now := time.Now()
	e.Backups = status(doctor.BackupStatus{LastSuccess: now.Add(-72 * time.Hour), LastVerified: now.Add(-72 * time.Hour)})
	wantStatus(t, "an old backup", checkBackups, e, doctor.Fail)
	e.Backups = status(doctor.BackupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-time.Hour), LastFailure: "pg_dump not found"})
	wantStatus(t, "a failed last attempt", checkBackups, e, doctor.Fail)
	e.Backups = status(doctor.BackupStatus{LastSuccess: now.Add(-time.Hour)})
	wantStatus(t, "an unverified backup", checkBackups, e, doctor.Warn)
	e.Backups = status(doctor.BackupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-10 * 24 * time.Hour)})
	wantStatus(t, "a verify too long ago", checkBackups, e, doctor.Warn)
	e.Backups = status(doctor.BackupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-24 * time.Hour)})
	wantStatus(t, "a recent backup, one verified lately", checkBackups, e, doctor.OK)
	e.Backups = status(doctor.BackupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-24 * time.Hour), FailedVerify: "kura-x"})
	wantStatus(t, "the last backup failed its verify", checkBackups, e, doctor.Fail)
	e.Backups = status(doctor.BackupStatus{LastSuccess: now.Add(-time.Hour)})
	e.Scratch = func(context.Context) string { return "kura_migrate may not create databases" }
	wantStatus(t, "a verify that cannot run", checkBackups, e, doctor.Fail)
}

// TestDoctor_BackupMessages: what the backups check says is what kura
// does: on a new install on a server the first verify comes with the 7th
// daily backup; an old verify is counted in days.
func TestDoctor_BackupMessages(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		env    []string
		st     doctor.BackupStatus
		status doctor.Status
		want   []string
	}{
		{[]string{"DATABASE_URL=postgres://app@127.0.0.1/kura"}, doctor.BackupStatus{LastSuccess: now.Add(-time.Hour)}, doctor.Warn,
			[]string{"no backup has passed a verify yet", "one in 7", "the 7th scheduled backup", "verify --latest now"}},
		{[]string{"DATABASE_URL=postgres://app@127.0.0.1/kura", "KURA_BACKUP_VERIFY_EVERY=3"}, doctor.BackupStatus{LastSuccess: now.Add(-time.Hour)}, doctor.Warn,
			[]string{"one in 3", "the 3rd scheduled backup"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db"}, doctor.BackupStatus{LastSuccess: now.Add(-time.Hour)}, doctor.Warn,
			[]string{"verify each one", "see the log"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db", "KURA_BACKUP_INTERVAL=0"}, doctor.BackupStatus{LastSuccess: now.Add(-time.Hour)}, doctor.Warn,
			[]string{"scheduled backups are off"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db"}, doctor.BackupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-10*24*time.Hour - time.Hour)}, doctor.Warn,
			[]string{"10 days ago (more than 8)", "the scheduled verify could not run"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db"}, doctor.BackupStatus{LastSuccess: now.Add(-72 * time.Hour)}, doctor.Fail,
			[]string{"no successful backup in 48h"}},
	} {
		cfg, err := LoadConfig(c.env, "")
		if err != nil {
			t.Fatal(err)
		}
		st := c.st
		e := newDoctorEnv(cfg)
		e.Backups = func(context.Context) (*doctor.BackupStatus, error) { return &st, nil }
		r := checkBackups(context.Background(), e)
		if r.Status != c.status {
			t.Errorf("%v: %s, want %s: %s", c.env, r.Status, c.status, r.Message)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Message+" — "+r.Fix, w) {
				t.Errorf("%v: %q — %q lacks %q", c.env, r.Message, r.Fix, w)
			}
		}
	}
}

// sqliteKura returns the environment of a migrated SQLite database and
// its path.
func sqliteKura(t *testing.T) ([]string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "kura.db")
	env := []string{"DATABASE_URL=sqlite:" + path}
	if _, logs, err := runKura(t, env, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, logs)
	}
	return env, path
}

func TestDoctor_SQLiteFile(t *testing.T) {
	env, path := sqliteKura(t)
	wantStatus(t, "as kura made it", checkSQLiteFile, doctorEnvFor(t, "", env...), doctor.OK)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "file 0644", checkSQLiteFile, doctorEnvFor(t, "", env...), doctor.Fail)
	os.Chmod(path, 0o600)
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "folder 0777", checkSQLiteFile, doctorEnvFor(t, "", env...), doctor.Fail)
	wantStatus(t, "not SQLite", checkSQLiteFile, newDoctorEnv(Config{DatabaseURL: "postgres://h/db"}), doctor.OK)

	// 0755: others may list and enter, not replace; the fix is the mode
	// --fix sets.
	os.Chmod(filepath.Dir(path), 0o755)
	r := checkSQLiteFile(context.Background(), doctorEnvFor(t, "", env...))
	if r.Status != doctor.Fail || !strings.Contains(r.Message, "others may list its files") || strings.Contains(r.Message, "replace") ||
		!strings.Contains(r.Fix, "750") || !strings.Contains(r.Fix, "kura doctor --fix") {
		t.Errorf("folder 0755: %+v", r)
	}
	os.Chmod(filepath.Dir(path), 0o770)
	if r := checkSQLiteFile(context.Background(), doctorEnvFor(t, "", env...)); !strings.Contains(r.Message, "its group may create, replace or delete") {
		t.Errorf("folder 0770: %+v", r)
	}

	// A file not made yet: the fix is the command that makes it, as kura
	// makes it; an open folder is found before.
	missing := filepath.Join(t.TempDir(), "new", "kura.db")
	r = checkSQLiteFile(context.Background(), doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+missing))
	if r.Status != doctor.Warn || !strings.Contains(r.Fix, "kura migrate up") || !strings.Contains(r.Fix, "its folder 0750") {
		t.Errorf("no file, no folder: %+v", r)
	}
	os.MkdirAll(filepath.Dir(missing), 0o700)
	os.Chmod(filepath.Dir(missing), 0o755)
	wantStatus(t, "no file yet, an open folder", checkSQLiteFile, doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+missing), doctor.Fail)
}

// TestDoctor_Fix: kura doctor --fix sets the modes of the SQLite folder,
// the file and the .env file that the checks fail, says what it changed,
// and the checks then pass; without --fix nothing changes.
func TestDoctor_Fix(t *testing.T) {
	env, path := sqliteKura(t)
	dir := filepath.Dir(path)
	os.Chmod(dir, 0o755)
	os.Chmod(path, 0o644)
	envFile := filepath.Join(t.TempDir(), "kura.env")
	writeFile(t, envFile, "KURA_LOG_LEVEL=info\n", 0o640)
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Environ: env}
	var out strings.Builder
	m.Stdout = &out
	if err := m.Run(context.Background(), []string{"doctor", "--env-file", envFile, "--json"}); exitCode(err, io.Discard) != 2 {
		t.Fatalf("doctor: %v, want failures", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Fatalf("doctor without --fix changed the folder to %04o", fi.Mode().Perm())
	}
	out.Reset()
	err := m.Run(context.Background(), []string{"doctor", "--env-file", envFile, "--json", "--fix"})
	var results []doctor.Result
	if jerr := json.Unmarshal([]byte(out.String()), &results); jerr != nil {
		t.Fatalf("doctor --fix --json: %v\n%s", jerr, out.String())
	}
	fixed := map[string]string{}
	for _, r := range results {
		if r.Status == doctor.Fail {
			t.Errorf("after --fix: %+v", r)
		}
		fixed[r.Check] = r.Fixed
	}
	if !strings.Contains(fixed["sqlite-file"], dir+" is now mode 0750") || !strings.Contains(fixed["sqlite-file"], path+" is now mode 0600") ||
		!strings.Contains(fixed["env-file"], envFile+" is now mode 0600") {
		t.Errorf("what --fix says it changed: %v", fixed)
	}
	if exitCode(err, io.Discard) != 0 {
		t.Errorf("doctor --fix: %v, want exit 0 once fixed", err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o750, path: 0o600, envFile: 0o600} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != want {
			t.Errorf("%s is %04o after --fix, want %04o", p, fi.Mode().Perm(), want)
		}
	}
}

func TestDoctor_Redis(t *testing.T) {
	cases := map[string]doctor.Status{
		"":                                    doctor.OK,
		"redis://127.0.0.1:6379/0":            doctor.OK,
		"unix:///run/redis.sock":              doctor.OK,
		"redis://cache.example.com:6379/0":    doctor.Fail,
		"redis://:pw@cache.example.com:6379":  doctor.Fail,
		"rediss://cache.example.com:6379":     doctor.Fail,
		"rediss://:pw@cache.example.com:6379": doctor.OK,
	}
	for u, want := range cases {
		wantStatus(t, "REDIS_URL="+u, checkRedis, newDoctorEnv(Config{RedisURL: u}), want)
	}
}

func TestDoctor_Admin(t *testing.T) {
	env, _ := sqliteKura(t)
	wantStatus(t, "no admin", checkAdmin, doctorEnvFor(t, "", env...), doctor.Warn)
	if _, logs, err := runKura(t, env, "a long admin password\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, logs)
	}
	wantStatus(t, "an admin", checkAdmin, doctorEnvFor(t, "", env...), doctor.OK)
}

func TestDoctor_Sessions(t *testing.T) {
	good := doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	wantStatus(t, "defaults", checkSessions, good, doctor.OK)
	weak := *good
	weak.Hash = doctor.HashParams{MemoryKiB: 4096, Time: 1, Threads: 1}
	wantStatus(t, "a weak hash", checkSessions, &weak, doctor.Fail)
	long := doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "k.db"), "KURA_SESSION_TTL=2160h")
	wantStatus(t, "90-day sessions", checkSessions, long, doctor.Warn)
}

func TestDoctor_RateLimits(t *testing.T) {
	wantStatus(t, "none", checkRateLimits, &doctor.Env{}, doctor.Warn)
	sqlite := "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "k.db")
	wantStatus(t, "the defaults", checkRateLimits, doctorEnvFor(t, "", sqlite), doctor.OK)
	wantStatus(t, "KURA_RATE_LIMIT=false", checkRateLimits, doctorEnvFor(t, "", sqlite, "KURA_RATE_LIMIT=false"), doctor.Warn)
	wantStatus(t, "KURA_LOGIN_RATE=off", checkRateLimits, doctorEnvFor(t, "", sqlite, "KURA_LOGIN_RATE=off"), doctor.Warn)
	wantStatus(t, "KURA_LOGIN_RATE=5/1m", checkRateLimits, doctorEnvFor(t, "", sqlite, "KURA_LOGIN_RATE=5/1m"), doctor.OK)
}

func TestDoctor_Metrics(t *testing.T) {
	cases := []struct {
		addr, token string
		want        doctor.Status
	}{
		{"0.0.0.0:9464", "", doctor.Fail},
		{":9464", "", doctor.Fail},
		{"10.0.0.5:9464", "", doctor.Fail},
		{"0.0.0.0:9464", "0123456789abcdef0123", doctor.OK},
		{"127.0.0.1:9464", "", doctor.OK},
		{"", "", doctor.OK},
	}
	for _, c := range cases {
		wantStatus(t, c.addr, checkMetrics, newDoctorEnv(Config{MetricsAddr: c.addr, MetricsToken: c.token}), c.want)
	}
}

// TestDoctor_Command runs kura doctor whole: its JSON, its exit statuses,
// and that it creates nothing: no SQLite file, no table.
func TestDoctor_Command(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "data", "kura.db")
	out, _, err := runKura(t, []string{"DATABASE_URL=sqlite:" + missing}, "", "doctor", "--json")
	var results []doctor.Result
	if jerr := json.Unmarshal([]byte(out), &results); jerr != nil || len(results) != len(doctor.Checks) {
		t.Fatalf("doctor --json: %v, %d results\n%s", jerr, len(results), out)
	}
	if code := exitCode(err, io.Discard); code != 0 {
		t.Errorf("warnings only: exit %d, want 0 (%v)", code, err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("doctor made the SQLite folder or file: %v", err)
	}
	for _, r := range results {
		if r.Check == "backups" && (r.Status != doctor.Warn || r.Message != "no backup taken yet") {
			t.Errorf("backups: %+v", r)
		}
	}

	env, _ := sqliteKura(t)
	_, _, err = runKura(t, env, "", "doctor", "--strict")
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("warnings with --strict: exit %d, want 1 (%v)", code, err)
	}
	out, _, err = runKura(t, append(env, "KURA_METRICS_ADDR=0.0.0.0:9464"), "", "doctor")
	if code := exitCode(err, io.Discard); code != 2 || !strings.Contains(out, "✗ metrics") || !strings.Contains(out, "✓ redis") || !strings.Contains(out, "! backups") {
		t.Errorf("a failure: exit %d, want 2 (%v)\n%s", code, err, out)
	}

	// On a fresh PostgreSQL database doctor reports and creates no table.
	pg := testenv.PostgresDatabase(t)
	if _, _, err := runKura(t, []string{"DATABASE_URL=" + pg}, "", "doctor"); exitCode(err, io.Discard) != 2 {
		t.Errorf("doctor as the superuser: %v, want failures", err)
	}
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: pg})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.Reader().QueryRow("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil || tables != 0 {
		t.Errorf("doctor made %d tables (%v)", tables, err)
	}
}

// TestDoctor_Replicas checks DATABASE_REPLICA_URLS: a standby that serves
// passes, one that is down warns, a server not in recovery (the primary)
// and a replica reached without TLS fail.
func TestDoctor_Replicas(t *testing.T) {
	set := testenv.StartPGReplicaSet(t, 0)
	primary := "DATABASE_URL=" + set.PrimaryURL()
	if _, _, err := runKura(t, []string{primary}, "", "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	down := "postgres://postgres@127.0.0.1:" + testenv.FreePort(t) + "/postgres?sslmode=disable"
	cases := []struct {
		name, replicas string
		want           doctor.Status
	}{
		{"none", "", doctor.OK},
		{"standby", set.ReplicaURL(), doctor.OK},
		{"down", down, doctor.Warn},
		{"primary", set.PrimaryURL() + "&application_name=x", doctor.Fail},
		{"no TLS", "postgres://app@replica.example.com/kura?sslmode=disable", doctor.Fail},
	}
	for _, c := range cases {
		e := doctorEnvFor(t, "", primary, "DATABASE_REPLICA_URLS="+c.replicas, "KURA_DB_CONNECT_TIMEOUT=0")
		wantStatus(t, c.name, checkReplicas, e, c.want)
	}
}
