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

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// doctorEnvFor returns the doctor's view of a configuration given as
// environment variables, with envFile (which may be "") as its .env file,
// and the database opened when it exists.
func doctorEnvFor(t *testing.T, envFile string, environ ...string) *doctorEnv {
	t.Helper()
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Environ: environ}
	cf := &configFlags{envFile: envFile}
	e, err := m.doctorEnvOf(context.Background(), cf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

// wantStatus runs fn over e and checks its status.
func wantStatus(t *testing.T, name string, fn func(context.Context, *doctorEnv) checkResult, e *doctorEnv, want string) {
	t.Helper()
	r := fn(context.Background(), e)
	if r.Status != want {
		t.Errorf("%s: %s (%s; fix: %s), want %s", name, r.Status, r.Message, r.Fix, want)
	}
	if r.Status != statusOK && r.Fix == "" {
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
	wantStatus(t, "password in a tracked .env", checkSecrets, doctorEnvFor(t, envFile), statusFail)
	wantStatus(t, "password from the environment", checkSecrets, doctorEnvFor(t, "", url), statusOK)
	wantStatus(t, "no secret", checkSecrets, doctorEnvFor(t, ""), statusOK)

	untracked := filepath.Join(t.TempDir(), ".env")
	writeFile(t, untracked, url+"\nKURA_METRICS_TOKEN=0123456789abcdef0123\n", 0o600)
	wantStatus(t, "password in a .env outside git", checkSecrets, doctorEnvFor(t, untracked), statusOK)
}

func TestDoctor_EnvFile(t *testing.T) {
	wantStatus(t, "no .env", checkEnvFile, doctorEnvFor(t, filepath.Join(t.TempDir(), ".env")), statusOK)

	loose := filepath.Join(t.TempDir(), ".env")
	writeFile(t, loose, "KURA_LOG_LEVEL=info\n", 0o644)
	wantStatus(t, "mode 0644", checkEnvFile, doctorEnvFor(t, loose), statusFail)
	writeFile(t, loose, "KURA_LOG_LEVEL=info\n", 0o600)
	wantStatus(t, "mode 0600, no git", checkEnvFile, doctorEnvFor(t, loose), statusOK)

	dir := gitRepo(t)
	envFile := filepath.Join(dir, ".env")
	writeFile(t, envFile, "KURA_LOG_LEVEL=info\n", 0o600)
	wantStatus(t, "in a work tree, not ignored", checkEnvFile, doctorEnvFor(t, envFile), statusWarn)
	writeFile(t, filepath.Join(dir, ".gitignore"), ".env\n", 0o644)
	wantStatus(t, "ignored", checkEnvFile, doctorEnvFor(t, envFile), statusOK)
	if out, err := exec.Command("git", "-C", dir, "add", "-f", ".env").CombinedOutput(); err != nil {
		t.Fatalf("git add: %v %s", err, out)
	}
	wantStatus(t, "tracked", checkEnvFile, doctorEnvFor(t, envFile), statusFail)
}

func TestDoctor_DatabaseTLS(t *testing.T) {
	cases := []struct {
		env  []string
		want string
	}{
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=disable"}, statusFail},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=prefer"}, statusFail},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=require"}, statusWarn},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=verify-full"}, statusOK},
		{[]string{"DATABASE_URL=postgres://app@127.0.0.1/kura?sslmode=disable"}, statusOK},
		{[]string{"DATABASE_URL=mysql://app@db.example.com/kura", "KURA_DB_ALLOW_INSECURE=true"}, statusFail},
		{[]string{"DATABASE_URL=mysql://app@db.example.com/kura?tls=skip-verify"}, statusWarn},
		{[]string{"DATABASE_URL=mysql://app@db.example.com/kura?tls=true"}, statusOK},
		{[]string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "x.db")}, statusOK},
		{[]string{"DATABASE_URL=postgres://app@db.example.com/kura?sslmode=verify-full",
			"KURA_MIGRATE_DATABASE_URL=postgres://m@db.example.com/kura?sslmode=disable"}, statusFail},
	}
	for _, c := range cases {
		e := &doctorEnv{}
		cfg, err := LoadConfig(c.env, "")
		if err != nil {
			t.Fatal(err)
		}
		e.cfg = cfg
		wantStatus(t, strings.Join(c.env, " "), checkDatabaseTLS, e, c.want)
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
			wantStatus(t, "the superuser", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL="+admin), statusFail)
			if eng.name == "postgres" { // SECURITY.md's example: kura migrated and serves as the superuser
				owner := eng.url(t)
				if _, logs, err := runKura(t, []string{"DATABASE_URL=" + owner}, "", "migrate", "up"); err != nil {
					t.Fatalf("migrate up: %v\n%s", err, logs)
				}
				wantSecurityExample(t, "database-role", checkDatabaseRole(context.Background(), doctorEnvFor(t, "", "DATABASE_URL="+owner)), nil)
			}
			wantStatus(t, "the migration role", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL="+migURL), statusFail)
			wantStatus(t, "the application role", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL="+appURL), statusOK)
			wantStatus(t, "an admin, on the application role", checkAdmin, doctorEnvFor(t, "", "DATABASE_URL="+appURL), statusWarn)
		})
	}
	wantStatus(t, "SQLite", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "k.db")), statusOK)
	wantStatus(t, "unreachable", checkDatabaseRole, doctorEnvFor(t, "", "DATABASE_URL=postgres://app@127.0.0.1:1/kura"), statusFail)
}

func TestDoctor_Backups(t *testing.T) {
	cfg := defaultConfig()
	e := &doctorEnv{cfg: cfg, backups: func(context.Context) (*backupStatus, error) { return nil, nil }}
	wantStatus(t, "no backups yet", checkBackups, e, statusWarn)
	status := func(s backupStatus) func(context.Context) (*backupStatus, error) {
		return func(context.Context) (*backupStatus, error) { return &s, nil }
	}
	now := time.Now()
	e.backups = status(backupStatus{LastSuccess: now.Add(-72 * time.Hour), LastVerified: now.Add(-72 * time.Hour)})
	wantStatus(t, "an old backup", checkBackups, e, statusFail)
	e.backups = status(backupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-time.Hour), LastFailure: "pg_dump not found"})
	wantStatus(t, "a failed last attempt", checkBackups, e, statusFail)
	e.backups = status(backupStatus{LastSuccess: now.Add(-time.Hour)})
	wantStatus(t, "an unverified backup", checkBackups, e, statusWarn)
	e.backups = status(backupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-10 * 24 * time.Hour)})
	wantStatus(t, "a verify too long ago", checkBackups, e, statusWarn)
	e.backups = status(backupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-24 * time.Hour)})
	wantStatus(t, "a recent backup, one verified lately", checkBackups, e, statusOK)
	e.backups = status(backupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-24 * time.Hour), FailedVerify: "kura-x"})
	wantStatus(t, "the last backup failed its verify", checkBackups, e, statusFail)
	e.backups = status(backupStatus{LastSuccess: now.Add(-time.Hour)})
	e.scratch = func(context.Context) string { return "kura_migrate may not create databases" }
	wantStatus(t, "a verify that cannot run", checkBackups, e, statusFail)
}

// TestDoctor_BackupMessages: what the backups check says is what kura
// does: on a new install on a server the first verify comes with the 7th
// daily backup; an old verify is counted in days.
func TestDoctor_BackupMessages(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		env    []string
		st     backupStatus
		status string
		want   []string
	}{
		{[]string{"DATABASE_URL=postgres://app@127.0.0.1/kura"}, backupStatus{LastSuccess: now.Add(-time.Hour)}, statusWarn,
			[]string{"no backup has passed a verify yet", "one in 7", "the 7th scheduled backup", "verify --latest now"}},
		{[]string{"DATABASE_URL=postgres://app@127.0.0.1/kura", "KURA_BACKUP_VERIFY_EVERY=3"}, backupStatus{LastSuccess: now.Add(-time.Hour)}, statusWarn,
			[]string{"one in 3", "the 3rd scheduled backup"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db"}, backupStatus{LastSuccess: now.Add(-time.Hour)}, statusWarn,
			[]string{"verify each one", "see the log"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db", "KURA_BACKUP_INTERVAL=0"}, backupStatus{LastSuccess: now.Add(-time.Hour)}, statusWarn,
			[]string{"scheduled backups are off"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db"}, backupStatus{LastSuccess: now.Add(-time.Hour), LastVerified: now.Add(-10*24*time.Hour - time.Hour)}, statusWarn,
			[]string{"10 days ago (more than 8)", "the scheduled verify could not run"}},
		{[]string{"DATABASE_URL=sqlite:/x/kura.db"}, backupStatus{LastSuccess: now.Add(-72 * time.Hour)}, statusFail,
			[]string{"no successful backup in 48h"}},
	} {
		cfg, err := LoadConfig(c.env, "")
		if err != nil {
			t.Fatal(err)
		}
		st := c.st
		r := checkBackups(context.Background(), &doctorEnv{cfg: cfg, backups: func(context.Context) (*backupStatus, error) { return &st, nil }})
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
	wantStatus(t, "as kura made it", checkSQLiteFile, doctorEnvFor(t, "", env...), statusOK)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "file 0644", checkSQLiteFile, doctorEnvFor(t, "", env...), statusFail)
	os.Chmod(path, 0o600)
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "folder 0777", checkSQLiteFile, doctorEnvFor(t, "", env...), statusFail)
	wantStatus(t, "not SQLite", checkSQLiteFile, &doctorEnv{cfg: Config{DatabaseURL: "postgres://h/db"}}, statusOK)

	// 0755: others may list and enter, not replace; the fix is the mode
	// --fix sets.
	os.Chmod(filepath.Dir(path), 0o755)
	r := checkSQLiteFile(context.Background(), doctorEnvFor(t, "", env...))
	if r.Status != statusFail || !strings.Contains(r.Message, "others may list its files") || strings.Contains(r.Message, "replace") ||
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
	if r.Status != statusWarn || !strings.Contains(r.Fix, "kura migrate up") || !strings.Contains(r.Fix, "its folder 0750") {
		t.Errorf("no file, no folder: %+v", r)
	}
	os.MkdirAll(filepath.Dir(missing), 0o700)
	os.Chmod(filepath.Dir(missing), 0o755)
	wantStatus(t, "no file yet, an open folder", checkSQLiteFile, doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+missing), statusFail)
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
	var results []checkResult
	if jerr := json.Unmarshal([]byte(out.String()), &results); jerr != nil {
		t.Fatalf("doctor --fix --json: %v\n%s", jerr, out.String())
	}
	fixed := map[string]string{}
	for _, r := range results {
		if r.Status == statusFail {
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
	cases := map[string]string{
		"":                                    statusOK,
		"redis://127.0.0.1:6379/0":            statusOK,
		"unix:///run/redis.sock":              statusOK,
		"redis://cache.example.com:6379/0":    statusFail,
		"redis://:pw@cache.example.com:6379":  statusFail,
		"rediss://cache.example.com:6379":     statusFail,
		"rediss://:pw@cache.example.com:6379": statusOK,
	}
	for u, want := range cases {
		wantStatus(t, "REDIS_URL="+u, checkRedis, &doctorEnv{cfg: Config{RedisURL: u}}, want)
	}
}

func TestDoctor_Admin(t *testing.T) {
	env, _ := sqliteKura(t)
	wantStatus(t, "no admin", checkAdmin, doctorEnvFor(t, "", env...), statusWarn)
	if _, logs, err := runKura(t, env, "a long admin password\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, logs)
	}
	wantStatus(t, "an admin", checkAdmin, doctorEnvFor(t, "", env...), statusOK)
}

func TestDoctor_Sessions(t *testing.T) {
	good := doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	wantStatus(t, "defaults", checkSessions, good, statusOK)
	weak := *good
	weak.hash = hashParams{memoryKiB: 4096, time: 1, threads: 1}
	wantStatus(t, "a weak hash", checkSessions, &weak, statusFail)
	long := doctorEnvFor(t, "", "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "k.db"), "KURA_SESSION_TTL=2160h")
	wantStatus(t, "90-day sessions", checkSessions, long, statusWarn)
}

func TestDoctor_RateLimits(t *testing.T) {
	wantStatus(t, "none", checkRateLimits, &doctorEnv{}, statusWarn)
	sqlite := "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "k.db")
	wantStatus(t, "the defaults", checkRateLimits, doctorEnvFor(t, "", sqlite), statusOK)
	wantStatus(t, "KURA_RATE_LIMIT=false", checkRateLimits, doctorEnvFor(t, "", sqlite, "KURA_RATE_LIMIT=false"), statusWarn)
	wantStatus(t, "KURA_LOGIN_RATE=off", checkRateLimits, doctorEnvFor(t, "", sqlite, "KURA_LOGIN_RATE=off"), statusWarn)
	wantStatus(t, "KURA_LOGIN_RATE=5/1m", checkRateLimits, doctorEnvFor(t, "", sqlite, "KURA_LOGIN_RATE=5/1m"), statusOK)
}

func TestDoctor_Metrics(t *testing.T) {
	cases := []struct {
		addr, token, want string
	}{
		{"0.0.0.0:9464", "", statusFail},
		{":9464", "", statusFail},
		{"10.0.0.5:9464", "", statusFail},
		{"0.0.0.0:9464", "0123456789abcdef0123", statusOK},
		{"127.0.0.1:9464", "", statusOK},
		{"", "", statusOK},
	}
	for _, c := range cases {
		wantStatus(t, c.addr, checkMetrics, &doctorEnv{cfg: Config{MetricsAddr: c.addr, MetricsToken: c.token}}, c.want)
	}
}

// TestDoctor_Command runs kura doctor whole: its JSON, its exit statuses,
// and that it creates nothing: no SQLite file, no table.
func TestDoctor_Command(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "data", "kura.db")
	out, _, err := runKura(t, []string{"DATABASE_URL=sqlite:" + missing}, "", "doctor", "--json")
	var results []checkResult
	if jerr := json.Unmarshal([]byte(out), &results); jerr != nil || len(results) != len(doctorChecks) {
		t.Fatalf("doctor --json: %v, %d results\n%s", jerr, len(results), out)
	}
	if code := exitCode(err, io.Discard); code != 0 {
		t.Errorf("warnings only: exit %d, want 0 (%v)", code, err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("doctor made the SQLite folder or file: %v", err)
	}
	for _, r := range results {
		if r.Check == "backups" && (r.Status != statusWarn || r.Message != "no backup taken yet") {
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
		name, replicas, want string
	}{
		{"none", "", statusOK},
		{"standby", set.ReplicaURL(), statusOK},
		{"down", down, statusWarn},
		{"primary", set.PrimaryURL() + "&application_name=x", statusFail},
		{"no TLS", "postgres://app@replica.example.com/kura?sslmode=disable", statusFail},
	}
	for _, c := range cases {
		e := doctorEnvFor(t, "", primary, "DATABASE_REPLICA_URLS="+c.replicas, "KURA_DB_CONNECT_TIMEOUT=0")
		wantStatus(t, c.name, checkReplicas, e, c.want)
	}
}
