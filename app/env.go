package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/sqldb"
)

// Group is a set of variables that commands read together; a command's
// help lists the variables of its groups.
type Group uint

// The groups of Variables. GroupPassword and GroupRoles are the groups of
// variables kura's own commands read (users create, db roles).
const (
	GroupLog Group = 1 << iota
	GroupDB
	GroupHTTP
	GroupCache
	GroupMigrate
	GroupJobs
	GroupShutdown
	GroupPassword
	GroupMetrics
	GroupMigrator // the migration role's URL: the commands that migrate
	GroupRoles    // the role passwords of db roles --apply
	GroupBackup   // the backup folder, schedule and retention
	GroupStart    // how serve and worker start: the wait for the database
	GroupDrain    // how serve stops behind a load balancer
	GroupMail     // the mail server, sender and templates
	GroupConsole  // serve's admin console
)

// Variable is one environment variable of Config: its name, the group of
// commands that read it, what it means (one line, for the help), and the
// Config field it sets.
type Variable struct {
	Name  string
	Group Group
	About string
	Field func(*Config) any // nil for a variable read by a command itself
	Shown string            // the default the help shows, where the field's zero stands for one
}

// Variables lists the environment variables of Config, in the README's
// order: every app built on this package reads them alike.
var Variables = []Variable{
	{"KURA_ADDR", GroupHTTP, "HTTP listen address", func(c *Config) any { return &c.Addr }, ""},
	{"DATABASE_URL", GroupDB, "the engine: a SQLite path, sqlite:path, postgres://… or mysql://…", func(c *Config) any { return &c.DatabaseURL }, sqldb.DefaultURL},
	{"DB_HOST", GroupDB, "PostgreSQL host, used when DATABASE_URL is unset", func(c *Config) any { return &c.DBHost }, ""},
	{"DB_PORT", GroupDB, "PostgreSQL port, with DB_HOST", func(c *Config) any { return &c.DBPort }, ""},
	{"DB_NAME", GroupDB, "PostgreSQL database, with DB_HOST", func(c *Config) any { return &c.DBName }, ""},
	{"DB_USER", GroupDB, "PostgreSQL user, with DB_HOST", func(c *Config) any { return &c.DBUser }, ""},
	{"DB_PASSWORD", GroupDB, "PostgreSQL password, with DB_HOST (never printed)", func(c *Config) any { return &c.DBPassword }, ""},
	{"DB_SSLMODE", GroupDB, "with DB_HOST; empty: require off loopback, disable on loopback", func(c *Config) any { return &c.DBSSLMode }, ""},
	{"DB_POOL_SIZE", GroupDB, "connections kept open while idle", func(c *Config) any { return &c.PoolSize }, ""},
	{"DB_MAX_OVERFLOW", GroupDB, "extra connections under load", func(c *Config) any { return &c.MaxOverflow }, ""},
	{"DB_CONN_MAX_AGE", GroupDB, "seconds before a connection is replaced", func(c *Config) any { return &c.ConnMaxAge }, ""},
	{"DB_POOL_TIMEOUT", GroupDB, "seconds a caller waits for a free connection", func(c *Config) any { return &c.PoolTimeout }, ""},
	{"DB_PRE_PING", GroupDB, "check a connection that sat idle before using it", func(c *Config) any { return &c.PrePing }, ""},
	{"KURA_DB_ALLOW_INSECURE", GroupDB, "allow a connection without TLS off loopback", func(c *Config) any { return &c.AllowInsecure }, ""},
	{"DATABASE_REPLICA_URLS", GroupDB, "PostgreSQL streaming replicas (comma-separated) for reads that may be slightly stale (never printed)", func(c *Config) any { return &c.ReplicaURLs }, ""},
	{"KURA_REPLICA_MAX_LAG", GroupDB, "seconds a replica may lag and still serve reads; past it reads go to the primary", func(c *Config) any { return &c.ReplicaMaxLag }, ""},
	{"KURA_DB_CONNECT_TIMEOUT", GroupStart, "seconds serve and worker retry a database that does not answer at start; 0: fail at once", func(c *Config) any { return &c.DBConnectTimeout }, ""},
	{"CACHE_TTL", GroupCache, "seconds users and sessions are cached; 0 turns the cache off", func(c *Config) any { return &c.CacheTTL }, ""},
	{"STATS_CACHE_TTL", GroupCache, "seconds /api/stats figures are reused", func(c *Config) any { return &c.StatsCacheTTL }, ""},
	{"CACHE_SIZE", GroupCache, "entries kept in the in-process cache", func(c *Config) any { return &c.CacheSize }, ""},
	{"REDIS_URL", GroupCache, "share the cache between instances through this Redis", func(c *Config) any { return &c.RedisURL }, ""},
	{"KURA_CACHE_PREFIX", GroupCache, "prefix of every Redis key and channel", func(c *Config) any { return &c.CachePrefix }, ""},
	{"KURA_AUTO_MIGRATE", GroupMigrate, "apply pending migrations at start", func(c *Config) any { return &c.AutoMigrate }, ""},
	{"KURA_MIGRATE_DATABASE_URL", GroupMigrator, "migrate as this URL's role (the schema's owner), serve as DATABASE_URL's (never printed)", func(c *Config) any { return &c.MigrateDatabaseURL }, ""},
	{"KURA_SESSION_TTL", GroupHTTP, "lifetime of a login token", func(c *Config) any { return &c.SessionTTL }, ""},
	{"KURA_CORS_ORIGINS", GroupHTTP, "origins (comma-separated; exact, or https://*.example.com) whose pages may call the API; empty: none", func(c *Config) any { return &c.CORSOrigins }, ""},
	{"KURA_DEV", GroupHTTP, "development mode, loopback only: CORS open to http://localhost:* and 127.0.0.1:*, no registration limit", func(c *Config) any { return &c.Dev }, ""},
	{"KURA_CONSOLE", GroupConsole, "serve the admin console under /admin/ (admins only); false: not at all (404)", func(c *Config) any { return &c.Console }, ""},
	{"KURA_RATE_LIMIT", GroupHTTP, "false turns every rate limit off (benchmarks)", func(c *Config) any { return &c.RateLimit }, ""},
	{"KURA_LOGIN_RATE", GroupHTTP, "logins per client address, EVENTS/PERIOD or off", func(c *Config) any { return &c.LoginRate }, ""},
	{"KURA_LOGIN_FAILURE_RATE", GroupHTTP, "password checks per account, from any address; past it each waits its turn (up to 3 s) or gets 429", func(c *Config) any { return &c.LoginFailureRate }, ""},
	{"KURA_REGISTER_RATE", GroupHTTP, "registrations, and other writes without a verified token, per client address", func(c *Config) any { return &c.RegisterRate }, ""},
	{"KURA_ANON_READ_RATE", GroupHTTP, "anonymous reads of a user, and reads without a verified token, per client address", func(c *Config) any { return &c.AnonReadRate }, ""},
	{"KURA_API_RATE", GroupHTTP, "requests per session token", func(c *Config) any { return &c.APIRate }, ""},
	{"KURA_TRUSTED_PROXIES", GroupHTTP, "proxies (IPs, CIDRs) whose X-Forwarded-For names the client", func(c *Config) any { return &c.TrustedProxies }, ""},
	{"KURA_DRAIN_DELAY", GroupDrain, "seconds serve, on SIGTERM, answers 503 draining on /health/ready while still serving, before it stops accepting", func(c *Config) any { return &c.DrainDelay }, ""},
	{"KURA_SHUTDOWN_TIMEOUT", GroupShutdown, "seconds to drain requests and jobs on SIGTERM", func(c *Config) any { return &c.ShutdownTimeout }, ""},
	{"KURA_WORKERS", GroupJobs, "background jobs worked at once; 0: serve only enqueues", func(c *Config) any { return &c.Workers }, ""},
	{"KURA_JOB_TIMEOUT", GroupJobs, "seconds one attempt of a job may run", func(c *Config) any { return &c.JobTimeout }, ""},
	{"KURA_JOB_RESCUE_AFTER", GroupJobs, "seconds running before a job whose process still beats is retried", func(c *Config) any { return &c.JobRescueAfter }, ""},
	{"KURA_JOB_MAX_ATTEMPTS", GroupJobs, "attempts before a failing job is discarded", func(c *Config) any { return &c.JobMaxAttempts }, ""},
	{"KURA_JOB_POLL_INTERVAL", GroupJobs, "seconds between idle workers' looks for due jobs", func(c *Config) any { return &c.JobPollInterval }, ""},
	{"KURA_JOB_RETENTION", GroupJobs, "how long completed and cancelled jobs are kept", func(c *Config) any { return &c.JobRetention }, ""},
	{"KURA_JOB_DISCARDED_RETENTION", GroupJobs, "how long discarded jobs are kept", func(c *Config) any { return &c.JobDiscardedRetention }, ""},
	{"KURA_SESSION_CLEANUP_INTERVAL", GroupJobs, "how often expired sessions and idempotency keys are deleted", func(c *Config) any { return &c.SessionCleanupInterval }, ""},
	{"KURA_MAINTAIN_INTERVAL", GroupJobs, "how often the job workers run kura maintain's work; 0 turns it off", func(c *Config) any { return &c.MaintainInterval }, ""},
	{"KURA_BACKUP_DIR", GroupBackup, "the folder of backups (created 0700)", func(c *Config) any { return &c.BackupDir }, ""},
	{"KURA_BACKUP_INTERVAL", GroupBackup, "time between scheduled backups (serve and worker); 0 turns them off", func(c *Config) any { return &c.BackupInterval }, ""},
	{"KURA_BACKUP_KEEP_DAYS", GroupBackup, "days every backup is kept", func(c *Config) any { return &c.BackupKeepDays }, ""},
	{"KURA_BACKUP_KEEP", GroupBackup, "backups kept whatever their age", func(c *Config) any { return &c.BackupKeep }, ""},
	{"KURA_BACKUP_VERIFY_EVERY", GroupBackup, "scheduled backups verify one in N", func(c *Config) any { return &c.BackupVerifyEvery }, "1 on SQLite; 7 on PostgreSQL and MySQL"},
	{"KURA_BACKUP_SCRATCH_URL", GroupBackup, "server URL whose role may create the scratch database a verify restores into (never printed)", func(c *Config) any { return &c.BackupScratchURL }, ""},
	{"KURA_SMTP_URL", GroupMail, "the mail server: smtp://[user:password@]host[:port] (STARTTLS required off loopback) or smtps://… (never printed)", func(c *Config) any { return &c.SMTPURL }, ""},
	{"KURA_MAIL_FROM", GroupMail, "the sender of kura's mail, such as \"Example <no-reply@example.com>\"", func(c *Config) any { return &c.MailFrom }, ""},
	{"KURA_MAIL_TRANSPORT", GroupMail, "smtp, or log to print each message instead of sending it (development); empty: smtp with KURA_SMTP_URL, else no mail", func(c *Config) any { return &c.MailTransport }, ""},
	{"KURA_MAIL_TEMPLATES", GroupMail, "a folder of templates (NAME.txt, NAME.html) replacing kura's messages", func(c *Config) any { return &c.MailTemplates }, ""},
	{"KURA_PUBLIC_URL", GroupMail, "the application's URL, the base of the links the account flows mail (https off loopback); with mail on it turns the flows on", func(c *Config) any { return &c.PublicURL }, ""},
	{"KURA_REQUIRE_VERIFIED_EMAIL", GroupMail, "true refuses the login (403) of an account whose address is not verified; needs KURA_PUBLIC_URL", func(c *Config) any { return &c.RequireVerifiedEmail }, ""},
	{"KURA_METRICS_ADDR", GroupMetrics, "operator-only /metrics listener; empty turns it off", func(c *Config) any { return &c.MetricsAddr }, ""},
	{"KURA_METRICS_TOKEN", GroupMetrics, "bearer token /metrics requires; with it serve's API has /metrics too (never printed)", func(c *Config) any { return &c.MetricsToken }, ""},
	{"KURA_LOG_LEVEL", GroupLog, "debug, info, warn or error", func(c *Config) any { return &c.LogLevel }, ""},
	{"KURA_LOG_FORMAT", GroupLog, "text or json", func(c *Config) any { return &c.LogFormat }, ""},
	{"KURA_LOG_FLUSH_INTERVAL", GroupLog, "seconds serve and worker hold info lines before writing them; 0: at once", func(c *Config) any { return &c.LogFlushInterval }, ""},
}

// LookupVariable returns the variable of Variables called name.
func LookupVariable(name string) (Variable, bool) {
	i := slices.IndexFunc(Variables, func(v Variable) bool { return v.Name == name })
	if i < 0 {
		return Variable{}, false
	}
	return Variables[i], true
}

// Default returns the variable's default as the help shows it, "" for
// none.
func (v Variable) Default() string {
	if v.Shown != "" || v.Field == nil {
		return v.Shown
	}
	c := DefaultConfig()
	switch p := v.Field(&c).(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *Seconds:
		return p.String()
	case *slog.Level:
		return strings.ToLower(p.String())
	case *ratelimit.Limit:
		return p.String()
	}
	panic("kura: variable " + v.Name + " has a field of an unknown type")
}

// logFormats are the values of KURA_LOG_FORMAT.
var logFormats = []string{"text", "json"}

// Set parses value into the variable's field of c. The error says what the
// value should look like; it quotes the value, as only the variables of
// secrets, which are strings, never fail.
func (v Variable) Set(c *Config, value string) error {
	switch p := v.Field(c).(type) {
	case *string:
		if v.Name == "KURA_LOG_FORMAT" && !slices.Contains(logFormats, value) {
			return fmt.Errorf("%q is not a log format: want text or json", value)
		}
		*p = value
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("%q is not a boolean: want true or false (or 1 or 0)", value)
		}
		*p = b
	case *Seconds:
		s, err := ParseSeconds(value)
		if err != nil {
			return err
		}
		*p = s
	case *slog.Level:
		if err := p.UnmarshalText([]byte(strings.TrimSpace(value))); err != nil {
			return fmt.Errorf("%q is not a log level: want debug, info, warn or error", value)
		}
	case *ratelimit.Limit:
		l, err := ratelimit.ParseLimit(value)
		if err != nil {
			return fmt.Errorf("%q is not a rate: %v", value, err)
		}
		*p = l
	}
	return nil
}

// IsBool reports whether the variable holds a boolean, so that a flag
// standing for it may be given without a value.
func (v Variable) IsBool() bool {
	if v.Field == nil {
		return false
	}
	_, ok := v.Field(&Config{}).(*bool)
	return ok
}

// Seconds is a duration that reads either a plain number of seconds, as the
// guide writes them ("600"), or a Go duration ("10m", "1.5s").
type Seconds time.Duration

// D returns s as a time.Duration.
func (s Seconds) D() time.Duration { return time.Duration(s) }

// String returns s as the help shows it: whole hours as "24h", else seconds
// ("600", "0.5").
func (s Seconds) String() string {
	if d := s.D(); d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return strconv.FormatFloat(s.D().Seconds(), 'f', -1, 64)
}

// maxSeconds is the longest duration a time.Duration holds, about 292 years.
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// ParseSeconds reads v as Seconds: a plain number of seconds ("600",
// "0.5") or a Go duration ("10m"), neither negative.
func ParseSeconds(v string) (Seconds, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if math.IsNaN(n) || n < 0 || n > maxSeconds {
			return 0, fmt.Errorf("%q is not a number of seconds from 0 to %d", v, int64(maxSeconds))
		}
		return Seconds(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration: want seconds (600) or a Go duration (10m, 1.5s)", v)
	}
	return Seconds(d), nil
}

// Source is where a configuration comes from, the last winning: the .env
// file, the environment, the command line's flags.
type Source struct {
	EnvFile         string // "" for none
	EnvFileRequired bool   // named on the command line: it must exist
	Environ         []string
	Flags           []Flag
}

// Flag is a value given by a command-line flag that stands for a
// variable, such as kura serve's --addr for KURA_ADDR.
type Flag struct{ Flag, Name, Value string }

// FlagError is Load's error when a flag's value is wrong: a mistake in
// the command line (kura exits 2 for it).
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// ErrNoEnvFile is returned for an env file named on the command line
// (Source.EnvFileRequired) that does not exist.
var ErrNoEnvFile = errors.New("no such file")

// LoadConfig reads the configuration from environ (KEY=VALUE pairs, as
// os.Environ returns them) over the .env file at envFile ("" for none). A
// missing envFile is fine; a malformed one is an error naming the file and
// line, not the line's contents.
func LoadConfig(environ []string, envFile string) (Config, error) {
	return Load(Source{Environ: environ, EnvFile: envFile})
}

// FromEnv reads the configuration from the process's environment over the
// file .env of the working directory, which may be missing.
func FromEnv() (Config, error) { return LoadConfig(os.Environ(), ".env") }

// Load reads the configuration from src over DefaultConfig. Each value
// that does not parse, or is out of range, is reported with the variable
// (or the flag) that gave it and the form expected; a bad value from a
// flag makes the error a *FlagError.
func Load(src Source) (Config, error) {
	type setting struct{ value, from string }
	vars := map[string]setting{}
	if src.EnvFile != "" {
		dotenv, err := ReadDotEnv(src.EnvFile)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !src.EnvFileRequired:
		case errors.Is(err, fs.ErrNotExist):
			return Config{}, fmt.Errorf("--env-file %s: %w", src.EnvFile, ErrNoEnvFile)
		case err != nil:
			return Config{}, err
		}
		for k, v := range dotenv {
			vars[k] = setting{v, k}
		}
	}
	for _, kv := range src.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = setting{v, k}
		}
	}
	for _, f := range src.Flags {
		vars[f.Name] = setting{f.Value, "--" + f.Flag + " (" + f.Name + ")"}
	}

	cfg := DefaultConfig()
	var errs []error
	usage := false
	report := func(from, msg string) {
		errs = append(errs, fmt.Errorf("%s: %s", from, msg))
		usage = usage || strings.HasPrefix(from, "--")
	}
	for _, v := range Variables {
		if s, ok := vars[v.Name]; ok && v.Field != nil {
			if err := v.Set(&cfg, s.value); err != nil {
				report(s.from, err.Error())
			}
		}
	}
	if len(errs) == 0 {
		for _, fe := range cfg.validate() {
			from := fe.name
			if s, ok := vars[fe.name]; ok {
				from = s.from
			}
			report(from, fe.msg)
		}
	}
	err := errors.Join(errs...)
	if usage {
		return Config{}, &FlagError{err}
	}
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// envKey is the form of a variable's name in a .env file.
var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// ReadDotEnv reads a .env file: KEY=VALUE lines, each optionally after
// "export ", with blank lines and # comments. A value may be in single
// quotes (taken as it is) or double quotes (where \n, \t, \" and \\ are
// escapes); an unquoted value ends at " #". A mistake is reported with the
// file and the line's number, never its text, which may hold a password.
func ReadDotEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for i, line := range strings.Split(strings.TrimPrefix(string(b), "\ufeff"), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, err := parseDotEnvLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s, line %d: %w (the line is not shown: it may hold a secret)", path, i+1, err)
		}
		vars[k] = v
	}
	return vars, nil
}

func parseDotEnvLine(line string) (key, value string, err error) {
	line = strings.TrimPrefix(line, "export ")
	k, v, ok := strings.Cut(line, "=")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || !envKey.MatchString(k) {
		return "", "", errors.New("not in KEY=VALUE form")
	}
	if v == "" || (v[0] != '"' && v[0] != '\'') {
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		return k, v, nil
	}
	q, end := v[0], -1
	for i := 1; i < len(v) && end < 0; i++ {
		switch {
		case q == '"' && v[i] == '\\':
			i++ // an escape: the next character is not the end
		case v[i] == q:
			end = i
		}
	}
	if end < 0 {
		return "", "", errors.New("a quoted value must end with its quote on the same line")
	}
	if rest := strings.TrimSpace(v[end+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
		return "", "", errors.New("text follows the quoted value")
	}
	v = v[1:end]
	if q == '"' {
		v = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\"`, `"`, `\\`, `\`).Replace(v)
	}
	return k, v, nil
}
