package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func writeEnvFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig_Defaults(t *testing.T) {
	cfg, err := LoadConfig([]string{}, filepath.Join(t.TempDir(), "missing.env"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.PoolSize != 5 || cfg.MaxOverflow != 10 ||
		cfg.ConnMaxAge.D() != 600*time.Second || cfg.PoolTimeout.D() != 5*time.Second ||
		!cfg.PrePing || !cfg.AutoMigrate || cfg.SessionTTL.D() != 168*time.Hour {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	if got := cfg.URL(); got != "" {
		t.Fatalf("URL() = %q, want empty (the SQLite default)", got)
	}
}

func TestLoadConfig_Precedence(t *testing.T) {
	envFile := writeEnvFile(t, "KURA_ADDR=127.0.0.1:9000\nDB_POOL_SIZE=7\nDATABASE_URL=sqlite:from-dotenv.db\n")
	cfg, err := LoadConfig([]string{"DB_POOL_SIZE=9"}, envFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9000" {
		t.Errorf("Addr = %q, want the .env value", cfg.Addr)
	}
	if cfg.PoolSize != 9 {
		t.Errorf("PoolSize = %d, want 9: the environment wins over .env", cfg.PoolSize)
	}
	if cfg.DatabaseURL != "sqlite:from-dotenv.db" {
		t.Errorf("DatabaseURL = %q", cfg.DatabaseURL)
	}
}

func TestLoadConfig_Seconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"600": 600 * time.Second, "1.5": 1500 * time.Millisecond, "10m": 10 * time.Minute, "250ms": 250 * time.Millisecond} {
		cfg, err := LoadConfig([]string{"DB_CONN_MAX_AGE=" + in}, "")
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if cfg.ConnMaxAge.D() != want {
			t.Errorf("DB_CONN_MAX_AGE=%s: got %v, want %v", in, cfg.ConnMaxAge.D(), want)
		}
	}
	for _, bad := range []string{"soon", "-5", "-1s"} {
		if _, err := LoadConfig([]string{"DB_POOL_TIMEOUT=" + bad}, ""); err == nil {
			t.Errorf("DB_POOL_TIMEOUT=%s: want an error", bad)
		}
	}
}

func TestLoadConfig_Invalid(t *testing.T) {
	for _, kv := range []string{"DB_POOL_SIZE=0", "DB_POOL_SIZE=x", "DB_MAX_OVERFLOW=-1", "DB_POOL_TIMEOUT=0", "KURA_LOG_LEVEL=loud", "KURA_LOG_FORMAT=xml", "KURA_SESSION_TTL=1s", "DB_PRE_PING=maybe"} {
		if _, err := LoadConfig([]string{kv}, ""); err == nil {
			t.Errorf("%s: want an error", kv)
		}
	}
}

func TestLoadConfig_MalformedDotEnvDoesNotEcho(t *testing.T) {
	const secret = "s3cr3t-dotenv-value"
	envFile := writeEnvFile(t, "DB_PASSWORD="+secret+"\nthis is not a line'\"\n")
	_, err := LoadConfig(nil, envFile)
	if err == nil {
		t.Fatal("want an error for a malformed .env")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatal("the error echoes the .env contents")
	}
}

func TestConfig_URLFromParts(t *testing.T) {
	const pw = "p@ss/w:rd?#%"
	cfg, err := LoadConfig([]string{"DB_HOST=db.example.com", "DB_PORT=6543", "DB_NAME=app", "DB_USER=app_user", "DB_PASSWORD=" + pw}, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.URL())
	if err != nil {
		t.Fatalf("built URL does not parse: %v", err)
	}
	got, _ := u.User.Password()
	if u.Scheme != "postgres" || u.Host != "db.example.com:6543" || u.Path != "/app" || u.User.Username() != "app_user" || got != pw {
		t.Fatalf("URL parts wrong: scheme=%s host=%s path=%s user=%s password ok=%v", u.Scheme, u.Host, u.Path, u.User.Username(), got == pw)
	}
	if mode := u.Query().Get("sslmode"); mode != "require" {
		t.Errorf("sslmode = %q, want require for a remote host", mode)
	}

	cfg, _ = LoadConfig([]string{"DB_HOST=127.0.0.1"}, "")
	if u, _ := url.Parse(cfg.URL()); u.Query().Get("sslmode") != "disable" {
		t.Errorf("loopback sslmode = %q, want disable", u.Query().Get("sslmode"))
	}
	cfg, _ = LoadConfig([]string{"DB_HOST=db", "DB_SSLMODE=verify-full"}, "")
	if u, _ := url.Parse(cfg.URL()); u.Query().Get("sslmode") != "verify-full" {
		t.Errorf("explicit sslmode lost: %q", u.Query().Get("sslmode"))
	}
	cfg, _ = LoadConfig([]string{"DATABASE_URL=mysql://x@h/db", "DB_HOST=ignored"}, "")
	if cfg.URL() != "mysql://x@h/db" {
		t.Errorf("DATABASE_URL must win over DB_HOST, got %q", cfg.URL())
	}
}

// FuzzParseSeconds: any value either parses to a non-negative duration or
// is rejected with an error; it never panics.
func FuzzParseSeconds(f *testing.F) {
	for _, s := range []string{"600", "1.5", "10m", "-1", "1e400", "NaN", "Inf", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSeconds(s)
		if err == nil && v < 0 {
			t.Fatalf("parseSeconds(%q) = %v", s, v)
		}
	})
}

func TestLoadConfig_BadValues(t *testing.T) {
	for kv, want := range map[string]string{
		"DB_POOL_SIZE=abc":                 `DB_POOL_SIZE: "abc" is not a whole number`,
		"DB_PRE_PING=maybe":                `DB_PRE_PING: "maybe" is not a boolean: want true or false`,
		"DB_POOL_TIMEOUT=soon":             `DB_POOL_TIMEOUT: "soon" is not a duration: want seconds (600) or a Go duration (10m, 1.5s)`,
		"DB_CONN_MAX_AGE=-5":               `DB_CONN_MAX_AGE: "-5" is not a number of seconds from 0 to`,
		"KURA_LOG_LEVEL=loud":              `KURA_LOG_LEVEL: "loud" is not a log level: want debug, info, warn or error`,
		"KURA_LOG_FORMAT=xml":              `KURA_LOG_FORMAT: "xml" is not a log format: want text or json`,
		"DB_POOL_SIZE=0":                   `DB_POOL_SIZE: 0 is too small: want a whole number of 1 or more`,
		"KURA_JOB_RESCUE_AFTER=30":         `KURA_JOB_RESCUE_AFTER: 30s is too short: want longer than KURA_JOB_TIMEOUT (1m0s)`,
		"DATABASE_URL=redis://h/0":         `DATABASE_URL: the scheme is not one kura knows`,
		"KURA_BACKUP_INTERVAL=-1h":         `KURA_BACKUP_INTERVAL: "-1h" is not`,
		"KURA_BACKUP_KEEP=0":               `KURA_BACKUP_KEEP: 0 is too small: want a whole number of 1 or more`,
		"KURA_BACKUP_KEEP_DAYS=x":          `KURA_BACKUP_KEEP_DAYS: "x" is not a whole number`,
		"KURA_BACKUP_SCRATCH_URL=sqlite:x": `KURA_BACKUP_SCRATCH_URL: want a postgres:// or mysql:// URL`,
		"KURA_JOB_RESCUE_AFTER=10m":        `KURA_JOB_RESCUE_AFTER: 10m0s is too short while scheduled backups are on`,
		"REDIS_URL=http://h/0":             `REDIS_URL: not a Redis URL: want redis://, rediss:// or unix://`,
		"KURA_LOGIN_RATE=10":               `KURA_LOGIN_RATE: "10" is not a rate: want EVENTS/PERIOD, such as 10/3m, or off`,
		"KURA_API_RATE=5/soon":             `KURA_API_RATE: "5/soon" is not a rate: "soon" is not a positive period`,
		"KURA_TRUSTED_PROXIES=lb":          `KURA_TRUSTED_PROXIES: "lb" is not an IP address or CIDR prefix`,
		"DATABASE_REPLICA_URLS=postgres://app:pw-secret@replica/kura": `DATABASE_REPLICA_URLS: read replicas need PostgreSQL streaming replication, and DATABASE_URL is sqlite`,
		"KURA_REPLICA_MAX_LAG=0": `KURA_REPLICA_MAX_LAG: want a positive number of seconds`,
	} {
		_, err := LoadConfig([]string{kv}, "")
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", kv, err, want)
		}
		if isUsage(err) {
			t.Errorf("%s: a bad variable is a failure (exit 1), not a usage error", kv)
		}
	}
}

func TestLoadConfig_Flags(t *testing.T) {
	src := configSource{
		environ: []string{"KURA_ADDR=127.0.0.1:1", "KURA_WORKERS=3"},
		flags:   []flagSetting{{"addr", "KURA_ADDR", "127.0.0.1:2"}},
	}
	cfg, err := loadConfig(src)
	if err != nil || cfg.Addr != "127.0.0.1:2" || cfg.Workers != 3 {
		t.Fatalf("a flag wins over the environment: %v %q %d", err, cfg.Addr, cfg.Workers)
	}
	src.flags = []flagSetting{{"concurrency", "KURA_WORKERS", "many"}}
	_, err = loadConfig(src)
	if !isUsage(err) || err.Error() != `--concurrency (KURA_WORKERS): "many" is not a whole number` {
		t.Errorf("a bad flag value: %v, want a usage error naming the flag", err)
	}
	src.flags = []flagSetting{{"concurrency", "KURA_WORKERS", "-1"}}
	if _, err = loadConfig(src); !isUsage(err) || !strings.HasPrefix(err.Error(), "--concurrency (KURA_WORKERS): -1 is too small") {
		t.Errorf("an out-of-range flag value: %v, want a usage error naming the flag", err)
	}
}

func TestLoadConfig_DotEnv(t *testing.T) {
	envFile := writeEnvFile(t, `# a comment

export KURA_ADDR=127.0.0.1:9000
DB_NAME = app # the database
DB_USER='o"u' # single
DB_PASSWORD="p#\"w\\"
KURA_CACHE_PREFIX="x:" # a prefix
`)
	cfg, err := LoadConfig(nil, envFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9000" || cfg.DBName != "app" || cfg.DBUser != `o"u` || cfg.DBPassword != `p#"w\` || cfg.CachePrefix != "x:" {
		t.Errorf("parsed %q %q %q %q %q", cfg.Addr, cfg.DBName, cfg.DBUser, cfg.DBPassword, cfg.CachePrefix)
	}
}

func TestLoadConfig_MalformedDotEnvNamesTheLine(t *testing.T) {
	const secret = "s3cr3t-dotenv-value"
	for name, content := range map[string]string{
		"no equals":      "KURA_ADDR=:1\n\nDB_PASSWORD " + secret + "\n",
		"bad name":       "KURA_ADDR=:1\n# note\n" + secret + "-x=1\n",
		"unclosed quote": "KURA_ADDR=:1\nDB_USER=u\nDB_PASSWORD=\"" + secret + "\n",
		"text after one": "\n\nDB_PASSWORD='" + secret + "' trailing\n",
		"crlf line ends": "KURA_ADDR=:1\r\n\r\nDB_PASSWORD " + secret + "\r\n",
	} {
		envFile := writeEnvFile(t, content)
		_, err := LoadConfig(nil, envFile)
		if err == nil {
			t.Errorf("%s: want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), envFile+", line 3:") {
			t.Errorf("%s: %v, want the file and line 3 named", name, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error echoes the line: %v", name, err)
		}
	}
}

func TestEnvFile_MissingOnlyWhenNamed(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env here: the default file may be missing
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")}
	var out, logs syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &logs, Environ: env}
	if err := m.Run(context.Background(), []string{"migrate", "status"}); err != nil {
		t.Fatalf("a missing default .env: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "prod.env")
	for _, args := range [][]string{{"serve", "--env-file", missing}, {"migrate", "--env-file", missing, "status"}, {"jobs", "list", "--env-file=" + missing}} {
		err := m.Run(context.Background(), args)
		if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("%v: %v, want an error naming the missing file", args, err)
		}
	}
}

// TestREADME_ConfigTable keeps the README's table of variables and the
// defaults the code applies in step: every variable is in both, and each
// default the README states parses to the code's.
func TestREADME_ConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "| variable | default | meaning |")
	table, _, _ = strings.Cut(table, "\n\n")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	documented := map[string]bool{}
	for _, row := range strings.Split(table, "\n")[2:] {
		cells := strings.Split(row, " | ")
		if len(cells) < 3 {
			t.Fatalf("README row %q has no default column", row)
		}
		vars := name.FindAllStringSubmatch(cells[0], -1)
		defaults := strings.Split(cells[1], ", ")
		if len(defaults) != len(vars) {
			t.Errorf("README row %q: %d variables, %d defaults", cells[0], len(vars), len(defaults))
			continue
		}
		for i, m := range vars {
			documented[m[1]] = true
			v, ok := lookupVariable(m[1])
			if !ok {
				t.Errorf("README documents %s, which kura does not read", m[1])
				continue
			}
			readmeDefault := strings.Trim(defaults[i], "`")
			if readmeDefault == "—" {
				readmeDefault = ""
			}
			if !sameDefault(v, readmeDefault) {
				t.Errorf("%s: README says the default is %q, the code's is %q", v.name, readmeDefault, v.defaultText())
			}
		}
	}
	for _, v := range variables {
		if !documented[v.name] {
			t.Errorf("%s is missing from the README's table", v.name)
		}
	}
}

// sameDefault reports whether s, as the README writes it, is v's default.
func sameDefault(v variable, s string) bool {
	if v.field == nil || v.shown != "" {
		return s == v.shown
	}
	var c Config
	if v.set(&c, s) != nil {
		return false
	}
	d := defaultConfig()
	return reflect.DeepEqual(v.field(&c), v.field(&d))
}

// TestLoadConfig_ReplicaURLs: a replica must be a PostgreSQL URL other
// than DATABASE_URL; the message never quotes a password.
func TestLoadConfig_ReplicaURLs(t *testing.T) {
	primary := "DATABASE_URL=postgres://app:pw-secret@db/kura"
	for repl, want := range map[string]string{
		"mysql://root:pw-secret@db/kura":        "is not a postgres:// URL: a read replica is a PostgreSQL streaming standby",
		"postgres://app:pw-secret@db/kura":      "names DATABASE_URL itself",
		"postgres://r1/kura, postgres://r2@x/k": "",
	} {
		cfg, err := LoadConfig([]string{primary, "DATABASE_REPLICA_URLS=" + repl}, "")
		if want == "" {
			if err != nil || len(cfg.DB(nil).ReplicaURLs) != 2 {
				t.Errorf("%s: %v, %v; want two replicas", repl, err, cfg.DB(nil).ReplicaURLs)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "pw-secret") {
			t.Errorf("%s: error %v; want %q without the password", repl, err, want)
		}
	}
}
