package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
)

// Passwords an operator may paste into a URL without escaping them: each
// holds one or more of the characters that end or split the user
// information ('@', '/', '%', '#', '?') or a ':' beside them. None has a
// three-character run in common with kura's messages.
var malformedPasswords = []string{
	"Qw@Er/Ty%Ui#Op?As:Dj",
	"Gh@Jk7Lm",
	"Gh/Jk7Lm",
	"Gh%Jk7Lm",
	"Gh%4Jk7L",
	"Gh#Jk7Lm",
	"Gh?Jk7Lm",
	"Gh:Jk@7Lm",
}

// secretCommands is every command that reads DATABASE_URL & co., as run
// by an operator (the password of users create comes from stdin); a
// restore writes into dir.
func secretCommands(dir string) [][]string {
	return [][]string{
		{"serve"}, {"worker"},
		{"migrate", "up"}, {"migrate", "down"}, {"migrate", "status"},
		{"jobs", "list"}, {"jobs", "counts"}, {"jobs", "retry", "1"}, {"jobs", "cancel", "1"},
		{"users", "create", "--email", "ann@example.com", "--username", "ann"}, {"users", "seed", "--count", "1"},
		{"backup", "create"}, {"backup", "list"}, {"backup", "verify", "--latest"}, {"backup", "prune"},
		{"backup", "restore", "--latest", "--to", "sqlite:" + filepath.Join(dir, "restored.db")},
		{"db", "roles"}, {"maintain"}, {"doctor"}, {"healthcheck"},
	}
}

// leak returns the first run of three or more characters of secret found
// in text, or "".
func leak(text, secret string) string {
	for i := 0; i+3 <= len(secret); i++ {
		if s := secret[i : i+3]; strings.Contains(text, s) {
			return s // every longer run holds a three-character one
		}
	}
	return ""
}

func TestLeak(t *testing.T) {
	if leak("host Er/Ty@127.0.0.1", malformedPasswords[0]) != "Er/" || leak("kura:xxxxx@127.0.0.1", "Gh@Jk7Lm") != "" {
		t.Fatal("leak does not find what it should")
	}
}

// secretRun is one command run with a secret somewhere in its settings.
type secretRun struct {
	env    []string
	args   []string
	secret string
	// refused names the setting that must be refused as unreadable, ""
	// when the URL is well formed (the command may fail otherwise).
	refused string
}

// check runs r and fails t if any part of the secret is in the command's
// output, logs or error, or if a malformed setting was not refused with a
// message naming it and how to escape.
func (r secretRun) check(t *testing.T) {
	t.Helper()
	stdin := "long enough password\n"
	out, logs, err := runKura(t, r.env, stdin, r.args...)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for where, text := range map[string]string{"stdout": out, "logs": logs, "error": msg} {
		if s := leak(text, r.secret); s != "" {
			t.Errorf("kura %s: %s shows %q of the password:\n%s", strings.Join(r.args, " "), where, s, text)
		}
	}
	if r.refused == "" {
		return
	}
	if err == nil || !strings.Contains(msg, r.refused+": the URL could not be read") || !strings.Contains(msg, "@ as %40") {
		t.Errorf("kura %s: %v; want %s refused, saying how to escape", strings.Join(r.args, " "), err, r.refused)
	}
}

// TestSecurity_MalformedURLSecretsNeverEcho gives every command that reads
// a database URL one whose password holds an unescaped '@', '/', '%',
// '#', '?' or ':', on the PostgreSQL and MySQL URL forms and through
// DB_PASSWORD, and searches stdout, the logs and the error for every run
// of three characters of the password. A malformed URL is refused before
// any connection, naming the variable; the same password escaped reaches
// the real server (a database that does not exist, or a wrong password)
// and still never shows.
func TestSecurity_MalformedURLSecretsNeverEcho(t *testing.T) {
	pg, _ := url.Parse(testenv.PostgresURL(t))
	my, _ := url.Parse(testenv.MySQLURL(t))
	escaped := func(scheme, host, pw string) string {
		return (&url.URL{Scheme: scheme, User: url.UserPassword("kura_nobody", pw), Host: host, Path: "/kura_no_such_db", RawQuery: "sslmode=disable"}).String()
	}
	forms := []struct {
		name    string
		env     func(pw string) []string
		refused string
	}{
		{"postgres", func(pw string) []string {
			return []string{"DATABASE_URL=postgres://kura:" + pw + "@" + pg.Host + "/kura_no_such_db?sslmode=disable"}
		}, "DATABASE_URL"},
		{"mysql", func(pw string) []string {
			return []string{"DATABASE_URL=mysql://kura:" + pw + "@" + my.Host + "/kura_no_such_db"}
		}, "DATABASE_URL"},
		{"postgres-escaped", func(pw string) []string { return []string{"DATABASE_URL=" + escaped("postgres", pg.Host, pw)} }, ""},
		{"mysql-escaped", func(pw string) []string {
			return []string{"DATABASE_URL=" + strings.TrimSuffix(escaped("mysql", my.Host, pw), "?sslmode=disable")}
		}, ""},
		{"DB_PASSWORD", func(pw string) []string {
			return []string{"DB_HOST=" + pg.Hostname(), "DB_PORT=" + pg.Port(), "DB_USER=kura_nobody", "DB_NAME=kura_no_such_db", "DB_PASSWORD=" + pw}
		}, ""},
	}
	var runs atomic.Int64
	for _, form := range forms {
		t.Run(form.name, func(t *testing.T) {
			t.Parallel()
			for _, pw := range malformedPasswords {
				dir := t.TempDir()
				for _, args := range secretCommands(dir) {
					env := append(form.env(pw), "KURA_BACKUP_DIR="+filepath.Join(dir, "backups"), "KURA_ADDR=127.0.0.1:1",
						"KURA_DB_CONNECT_TIMEOUT=0", "KURA_LOG_LEVEL=debug", noMetricsListener, noBackups)
					secretRun{env: env, args: args, secret: pw, refused: form.refused}.check(t)
					runs.Add(1)
				}
			}
		})
	}
	t.Cleanup(func() { t.Logf("%d command runs, none showed any part of a password", runs.Load()) })
}

// TestSecurity_MalformedSecondaryURLs does the same for the other URLs
// that carry a password: the migration role's, the backups' scratch
// server's, Redis's, and a restore's --to.
func TestSecurity_MalformedSecondaryURLs(t *testing.T) {
	base := []string{"DATABASE_URL=postgres://kura_nobody@127.0.0.1:1/kura?sslmode=disable", "KURA_ADDR=127.0.0.1:1",
		"KURA_DB_CONNECT_TIMEOUT=0", noMetricsListener, noBackups}
	vars := []struct {
		name string
		url  func(pw string) string
	}{
		{"KURA_MIGRATE_DATABASE_URL", func(pw string) string { return "postgres://kura_owner:" + pw + "@127.0.0.1:1/kura" }},
		{"KURA_BACKUP_SCRATCH_URL", func(pw string) string { return "postgres://kura_scratch:" + pw + "@127.0.0.1:1/postgres" }},
		{"REDIS_URL", func(pw string) string { return "redis://:" + pw + "@127.0.0.1:1/0" }},
	}
	for _, v := range vars {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			for _, pw := range malformedPasswords {
				dir := t.TempDir()
				for _, args := range secretCommands(dir) {
					env := append(append([]string{}, base...), v.name+"="+v.url(pw), "KURA_BACKUP_DIR="+filepath.Join(dir, "b"))
					secretRun{env: env, args: args, secret: pw, refused: v.name}.check(t)
				}
			}
		})
	}
	t.Run("backup restore --to", func(t *testing.T) {
		t.Parallel()
		env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db"), "KURA_BACKUP_DIR=" + filepath.Join(t.TempDir(), "b")}
		for _, pw := range malformedPasswords {
			for _, to := range []string{"postgres://kura:" + pw + "@127.0.0.1:1/kura", "mysql://kura:" + pw + "@127.0.0.1:1/kura"} {
				secretRun{env: env, args: []string{"backup", "restore", "--latest", "--to", to}, secret: pw, refused: "--to"}.check(t)
			}
		}
	})
}

// TestSecurity_HealthcheckURLCredentials gives kura healthcheck --url a
// URL with credentials, well formed or not: they are sent, never printed.
func TestSecurity_HealthcheckURLCredentials(t *testing.T) {
	s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "kura.db"))
	host := strings.TrimPrefix(s.URL, "http://")
	for _, pw := range malformedPasswords {
		for _, base := range []string{"http://127.0.0.1:1", s.URL} {
			h := strings.TrimPrefix(base, "http://")
			// Malformed: refused as a usage error naming --url.
			secretRun{env: []string{}, args: []string{"healthcheck", "--url", "http://Kv7Wn9q:" + pw + "@" + h}, secret: pw, refused: "--url"}.check(t)
			// Escaped: sent; the answer, or the failure, shows neither
			// the password nor the user.
			u := (&url.URL{Scheme: "http", User: url.UserPassword("Kv7Wn9q", pw), Host: h}).String()
			secretRun{env: []string{}, args: []string{"healthcheck", "--url", u}, secret: pw + "|Kv7Wn9q"}.check(t)
		}
	}
	out, _, err := runKura(t, []string{}, "", "healthcheck", "--url", "http://Kv7Wn9q:Zp4Rt8Wq@"+host)
	if err != nil || !strings.Contains(out, "healthy: GET http://xxxxx@"+host+"/health/ready: 200") {
		t.Fatalf("healthcheck with credentials: %v %q", err, out)
	}
}
