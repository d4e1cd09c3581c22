package main

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

// envGroup is a set of variables that commands read together; a command's
// help lists the variables of its groups.
type envGroup uint

const (
	envLog envGroup = 1 << iota
	envDB
	envHTTP
	envCache
	envMigrate
	envJobs
	envShutdown
	envPassword
	envMetrics
	envMigrator // the migration role's URL: the commands that migrate
	envRoles    // the role passwords of db roles --apply
	envBackup   // the backup folder, schedule and retention
	envStart    // how serve and worker start: the wait for the database
	envDrain    // how serve stops behind a load balancer
	envMail     // the mail server, sender and templates
)

// variable is one environment variable kura reads: its name, the group of
// commands that read it, what it means (one line, for the help), and the
// Config field it sets (nil for one read elsewhere).
type variable struct {
	name  string
	group envGroup
	about string
	field func(*Config) any
	shown string // the default the help shows, where the field's zero stands for one
}

// variables lists kura's environment variables in the README's order.
var variables = []variable{
	{"KURA_ADDR", envHTTP, "HTTP listen address", func(c *Config) any { return &c.Addr }, ""},
	{"DATABASE_URL", envDB, "the engine: a SQLite path, sqlite:path, postgres://… or mysql://…", func(c *Config) any { return &c.DatabaseURL }, sqldb.DefaultURL},
	{"DB_HOST", envDB, "PostgreSQL host, used when DATABASE_URL is unset", func(c *Config) any { return &c.DBHost }, ""},
	{"DB_PORT", envDB, "PostgreSQL port, with DB_HOST", func(c *Config) any { return &c.DBPort }, ""},
	{"DB_NAME", envDB, "PostgreSQL database, with DB_HOST", func(c *Config) any { return &c.DBName }, ""},
	{"DB_USER", envDB, "PostgreSQL user, with DB_HOST", func(c *Config) any { return &c.DBUser }, ""},
	{"DB_PASSWORD", envDB, "PostgreSQL password, with DB_HOST (never printed)", func(c *Config) any { return &c.DBPassword }, ""},
	{"DB_SSLMODE", envDB, "with DB_HOST; empty: require off loopback, disable on loopback", func(c *Config) any { return &c.DBSSLMode }, ""},
	{"DB_POOL_SIZE", envDB, "connections kept open while idle", func(c *Config) any { return &c.PoolSize }, ""},
	{"DB_MAX_OVERFLOW", envDB, "extra connections under load", func(c *Config) any { return &c.MaxOverflow }, ""},
	{"DB_CONN_MAX_AGE", envDB, "seconds before a connection is replaced", func(c *Config) any { return &c.ConnMaxAge }, ""},
	{"DB_POOL_TIMEOUT", envDB, "seconds a caller waits for a free connection", func(c *Config) any { return &c.PoolTimeout }, ""},
	{"DB_PRE_PING", envDB, "check a connection that sat idle before using it", func(c *Config) any { return &c.PrePing }, ""},
	{"KURA_DB_ALLOW_INSECURE", envDB, "allow a connection without TLS off loopback", func(c *Config) any { return &c.AllowInsecure }, ""},
	{"DATABASE_REPLICA_URLS", envDB, "PostgreSQL streaming replicas (comma-separated) for reads that may be slightly stale (never printed)", func(c *Config) any { return &c.ReplicaURLs }, ""},
	{"KURA_REPLICA_MAX_LAG", envDB, "seconds a replica may lag and still serve reads; past it reads go to the primary", func(c *Config) any { return &c.ReplicaMaxLag }, ""},
	{"KURA_DB_CONNECT_TIMEOUT", envStart, "seconds serve and worker retry a database that does not answer at start; 0: fail at once", func(c *Config) any { return &c.DBConnectTimeout }, ""},
	{"CACHE_TTL", envCache, "seconds users and sessions are cached; 0 turns the cache off", func(c *Config) any { return &c.CacheTTL }, ""},
	{"STATS_CACHE_TTL", envCache, "seconds /api/stats figures are reused", func(c *Config) any { return &c.StatsCacheTTL }, ""},
	{"CACHE_SIZE", envCache, "entries kept in the in-process cache", func(c *Config) any { return &c.CacheSize }, ""},
	{"REDIS_URL", envCache, "share the cache between instances through this Redis", func(c *Config) any { return &c.RedisURL }, ""},
	{"KURA_CACHE_PREFIX", envCache, "prefix of every Redis key and channel", func(c *Config) any { return &c.CachePrefix }, ""},
	{"KURA_AUTO_MIGRATE", envMigrate, "apply pending migrations at start", func(c *Config) any { return &c.AutoMigrate }, ""},
	{"KURA_MIGRATE_DATABASE_URL", envMigrator, "migrate as this URL's role (the schema's owner), serve as DATABASE_URL's (never printed)", func(c *Config) any { return &c.MigrateDatabaseURL }, ""},
	{"KURA_SESSION_TTL", envHTTP, "lifetime of a login token", func(c *Config) any { return &c.SessionTTL }, ""},
	{"KURA_CORS_ORIGINS", envHTTP, "origins (comma-separated; exact, or https://*.example.com) whose pages may call the API; empty: none", func(c *Config) any { return &c.CORSOrigins }, ""},
	{"KURA_RATE_LIMIT", envHTTP, "false turns every rate limit off (benchmarks)", func(c *Config) any { return &c.RateLimit }, ""},
	{"KURA_LOGIN_RATE", envHTTP, "logins per client address, EVENTS/PERIOD or off", func(c *Config) any { return &c.LoginRate }, ""},
	{"KURA_LOGIN_FAILURE_RATE", envHTTP, "password checks per account, from any address; past it each waits its turn (up to 3 s) or gets 429", func(c *Config) any { return &c.LoginFailureRate }, ""},
	{"KURA_REGISTER_RATE", envHTTP, "registrations, and other writes without a verified token, per client address", func(c *Config) any { return &c.RegisterRate }, ""},
	{"KURA_ANON_READ_RATE", envHTTP, "anonymous reads of a user, and reads without a verified token, per client address", func(c *Config) any { return &c.AnonReadRate }, ""},
	{"KURA_API_RATE", envHTTP, "requests per session token", func(c *Config) any { return &c.APIRate }, ""},
	{"KURA_TRUSTED_PROXIES", envHTTP, "proxies (IPs, CIDRs) whose X-Forwarded-For names the client", func(c *Config) any { return &c.TrustedProxies }, ""},
	{"KURA_DRAIN_DELAY", envDrain, "seconds serve, on SIGTERM, answers 503 draining on /health/ready while still serving, before it stops accepting", func(c *Config) any { return &c.DrainDelay }, ""},
	{"KURA_SHUTDOWN_TIMEOUT", envShutdown, "seconds to drain requests and jobs on SIGTERM", func(c *Config) any { return &c.ShutdownTimeout }, ""},
	{"KURA_WORKERS", envJobs, "background jobs worked at once; 0: serve only enqueues", func(c *Config) any { return &c.Workers }, ""},
	{"KURA_JOB_TIMEOUT", envJobs, "seconds one attempt of a job may run", func(c *Config) any { return &c.JobTimeout }, ""},
	{"KURA_JOB_RESCUE_AFTER", envJobs, "seconds running before a job whose process still beats is retried", func(c *Config) any { return &c.JobRescueAfter }, ""},
	{"KURA_JOB_MAX_ATTEMPTS", envJobs, "attempts before a failing job is discarded", func(c *Config) any { return &c.JobMaxAttempts }, ""},
	{"KURA_JOB_POLL_INTERVAL", envJobs, "seconds between idle workers' looks for due jobs", func(c *Config) any { return &c.JobPollInterval }, ""},
	{"KURA_JOB_RETENTION", envJobs, "how long completed and cancelled jobs are kept", func(c *Config) any { return &c.JobRetention }, ""},
	{"KURA_JOB_DISCARDED_RETENTION", envJobs, "how long discarded jobs are kept", func(c *Config) any { return &c.JobDiscardedRetention }, ""},
	{"KURA_SESSION_CLEANUP_INTERVAL", envJobs, "how often expired sessions and idempotency keys are deleted", func(c *Config) any { return &c.SessionCleanupInterval }, ""},
	{"KURA_MAINTAIN_INTERVAL", envJobs, "how often the job workers run kura maintain's work; 0 turns it off", func(c *Config) any { return &c.MaintainInterval }, ""},
	{"KURA_BACKUP_DIR", envBackup, "the folder of backups (created 0700)", func(c *Config) any { return &c.BackupDir }, ""},
	{"KURA_BACKUP_INTERVAL", envBackup, "time between scheduled backups (serve and worker); 0 turns them off", func(c *Config) any { return &c.BackupInterval }, ""},
	{"KURA_BACKUP_KEEP_DAYS", envBackup, "days every backup is kept", func(c *Config) any { return &c.BackupKeepDays }, ""},
	{"KURA_BACKUP_KEEP", envBackup, "backups kept whatever their age", func(c *Config) any { return &c.BackupKeep }, ""},
	{"KURA_BACKUP_VERIFY_EVERY", envBackup, "scheduled backups verify one in N", func(c *Config) any { return &c.BackupVerifyEvery }, "1 on SQLite; 7 on PostgreSQL and MySQL"},
	{"KURA_BACKUP_SCRATCH_URL", envBackup, "server URL whose role may create the scratch database a verify restores into (never printed)", func(c *Config) any { return &c.BackupScratchURL }, ""},
	{"KURA_SMTP_URL", envMail, "the mail server: smtp://[user:password@]host[:port] (STARTTLS required off loopback) or smtps://… (never printed)", func(c *Config) any { return &c.SMTPURL }, ""},
	{"KURA_MAIL_FROM", envMail, "the sender of kura's mail, such as \"Example <no-reply@example.com>\"", func(c *Config) any { return &c.MailFrom }, ""},
	{"KURA_MAIL_TRANSPORT", envMail, "smtp, or log to print each message instead of sending it (development); empty: smtp with KURA_SMTP_URL, else no mail", func(c *Config) any { return &c.MailTransport }, ""},
	{"KURA_MAIL_TEMPLATES", envMail, "a folder of templates (NAME.txt, NAME.html) replacing kura's messages", func(c *Config) any { return &c.MailTemplates }, ""},
	{"KURA_PUBLIC_URL", envMail, "the application's URL, the base of the links the account flows mail (https off loopback); with mail on it turns the flows on", func(c *Config) any { return &c.PublicURL }, ""},
	{"KURA_REQUIRE_VERIFIED_EMAIL", envMail, "true refuses the login (403) of an account whose address is not verified; needs KURA_PUBLIC_URL", func(c *Config) any { return &c.RequireVerifiedEmail }, ""},
	{"KURA_METRICS_ADDR", envMetrics, "operator-only /metrics listener; empty turns it off", func(c *Config) any { return &c.MetricsAddr }, ""},
	{"KURA_METRICS_TOKEN", envMetrics, "bearer token /metrics requires; with it serve's API has /metrics too (never printed)", func(c *Config) any { return &c.MetricsToken }, ""},
	{"KURA_LOG_LEVEL", envLog, "debug, info, warn or error", func(c *Config) any { return &c.LogLevel }, ""},
	{"KURA_LOG_FORMAT", envLog, "text or json", func(c *Config) any { return &c.LogFormat }, ""},
	{"KURA_LOG_FLUSH_INTERVAL", envLog, "seconds serve and worker hold info lines before writing them; 0: at once", func(c *Config) any { return &c.LogFlushInterval }, ""},
	{passwordEnv, envPassword, "the password of users create (else read from standard input)", nil, ""},
	{migratePasswordEnv, envRoles, "the migration role's password for db roles --apply (else prompted for)", nil, ""},
	{appPasswordEnv, envRoles, "the application role's password for db roles --apply (else prompted for)", nil, ""},
}

// lookupVariable returns the variable called name.
func lookupVariable(name string) (variable, bool) {
	i := slices.IndexFunc(variables, func(v variable) bool { return v.name == name })
	if i < 0 {
		return variable{}, false
	}
	return variables[i], true
}

// defaultText returns the variable's default as the help shows it, "" for
// none.
func (v variable) defaultText() string {
	if v.shown != "" || v.field == nil {
		return v.shown
	}
	c := defaultConfig()
	switch p := v.field(&c).(type) {
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
	panic("kura: variable " + v.name + " has a field of an unknown type")
}

// logFormats are the values of KURA_LOG_FORMAT.
var logFormats = []string{"text", "json"}

// set parses value into the variable's field of c. The error says what the
// value should look like; it quotes the value, as only the variables of
// secrets, which are strings, never fail.
func (v variable) set(c *Config, value string) error {
	switch p := v.field(c).(type) {
	case *string:
		if v.name == "KURA_LOG_FORMAT" && !slices.Contains(logFormats, value) {
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
		s, err := parseSeconds(value)
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

// isBool reports whether the variable holds a boolean, so that a flag
// standing for it may be given without a value.
func (v variable) isBool() bool {
	if v.field == nil {
		return false
	}
	_, ok := v.field(&Config{}).(*bool)
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

func parseSeconds(v string) (Seconds, error) {
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

// configSource is where a command's configuration comes from, the last
// winning: the .env file, the environment, the command's flags.
type configSource struct {
	envFile         string // "" for none
	envFileRequired bool   // named on the command line: it must exist
	environ         []string
	flags           []flagSetting
}

// flagSetting is a value given by a flag that stands for a variable.
type flagSetting struct{ flag, name, value string }

// loadConfig reads the configuration from src over defaultConfig. Each
// value that does not parse, or is out of range, is reported with the
// variable (or the flag) that gave it and the form expected; a bad value
// from a flag is a usage error.
func loadConfig(src configSource) (Config, error) {
	type setting struct{ value, from string }
	vars := map[string]setting{}
	if src.envFile != "" {
		dotenv, err := readDotEnv(src.envFile)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !src.envFileRequired:
		case errors.Is(err, fs.ErrNotExist):
			return Config{}, fmt.Errorf("--env-file %s: %w", src.envFile, errNoEnvFile)
		case err != nil:
			return Config{}, err
		}
		for k, v := range dotenv {
			vars[k] = setting{v, k}
		}
	}
	for _, kv := range src.environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = setting{v, k}
		}
	}
	for _, f := range src.flags {
		vars[f.name] = setting{f.value, "--" + f.flag + " (" + f.name + ")"}
	}

	cfg := defaultConfig()
	var errs []error
	usage := false
	report := func(from, msg string) {
		errs = append(errs, fmt.Errorf("%s: %s", from, msg))
		usage = usage || strings.HasPrefix(from, "--")
	}
	for _, v := range variables {
		if s, ok := vars[v.name]; ok && v.field != nil {
			if err := v.set(&cfg, s.value); err != nil {
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
		return Config{}, usageError{err.Error()}
	}
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// envKey is the form of a variable's name in a .env file.
var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// readDotEnv reads a .env file: KEY=VALUE lines, each optionally after
// "export ", with blank lines and # comments. A value may be in single
// quotes (taken as it is) or double quotes (where \n, \t, \" and \\ are
// escapes); an unquoted value ends at " #". A mistake is reported with the
// file and the line's number, never its text, which may hold a password.
func readDotEnv(path string) (map[string]string, error) {
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
