package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/credurl"
	"github.com/kura-dev/kura/internal/jsonlog"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/metrics"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/sqldb"
)

// Config is kura's configuration. Each value comes from a command-line flag
// where the command has one, else from the environment, else from the .env
// file, else from defaultConfig. The variable behind each field is in the
// variables table (env.go); kura's own start with KURA_, the database ones
// keep the names the guide uses.
type Config struct {
	// Addr (KURA_ADDR) is the HTTP listen address.
	Addr string

	// DatabaseURL (DATABASE_URL) selects the engine: a SQLite path or
	// sqlite: URL, postgres:// or mysql://. Empty means DB_HOST & co. when
	// DB_HOST is set, else sqldb.DefaultURL.
	DatabaseURL string

	// The guide's PostgreSQL settings (DB_HOST, DB_PORT, DB_NAME, DB_USER,
	// DB_PASSWORD, DB_SSLMODE), used only without DATABASE_URL. An empty
	// DBSSLMode means require off-loopback and disable on loopback.
	DBHost, DBPort, DBName, DBUser, DBPassword, DBSSLMode string

	// Pool settings in the guide's vocabulary (DB_POOL_SIZE,
	// DB_MAX_OVERFLOW, DB_CONN_MAX_AGE, DB_POOL_TIMEOUT, DB_PRE_PING), and
	// KURA_DB_ALLOW_INSECURE; see sqldb.Config.
	PoolSize      int
	MaxOverflow   int // 0 means none (sqldb reads its zero as the default)
	ConnMaxAge    Seconds
	PoolTimeout   Seconds
	PrePing       bool
	AllowInsecure bool
	// ReplicaURLs (DATABASE_REPLICA_URLS) are PostgreSQL streaming
	// replicas, comma-separated, for reads that may be slightly stale;
	// empty: every read goes to DATABASE_URL. ReplicaMaxLag
	// (KURA_REPLICA_MAX_LAG) is how far one may lag and still serve. See
	// sqldb.Config.
	ReplicaURLs   string
	ReplicaMaxLag Seconds
	// DBConnectTimeout (KURA_DB_CONNECT_TIMEOUT) is how long serve and
	// worker wait, retrying with backoff, for a database that does not
	// answer at start (a container started beside its database); 0 fails
	// at once, as the other commands do.
	DBConnectTimeout Seconds

	// CacheTTL (CACHE_TTL) is how long a user read is cached; 0 turns
	// caching off.
	CacheTTL Seconds
	// StatsCacheTTL (STATS_CACHE_TTL) is how long GET /api/stats figures
	// are reused; 0 computes them on every request.
	StatsCacheTTL Seconds
	// CacheSize (CACHE_SIZE) bounds the in-process cache, in entries.
	CacheSize int
	// RedisURL (REDIS_URL) shares the cache, and its invalidations, between
	// instances.
	RedisURL string
	// CachePrefix (KURA_CACHE_PREFIX) starts every Redis key and channel of
	// this deployment, so that several apps can share one Redis.
	CachePrefix string

	// AutoMigrate (KURA_AUTO_MIGRATE) applies pending migrations when serve
	// or worker starts.
	AutoMigrate bool
	// MigrateDatabaseURL (KURA_MIGRATE_DATABASE_URL), if set, is the URL
	// migrations run with: the migration role's, which owns kura's schema,
	// while DATABASE_URL is the application role's, which only reads and
	// writes rows (see kura db roles). serve and worker open a second,
	// short-lived pool on it to migrate. "" migrates with DATABASE_URL.
	// Never logged.
	MigrateDatabaseURL string
	// SessionTTL (KURA_SESSION_TTL) is how long a login token lives.
	SessionTTL Seconds
	// CORSOrigins (KURA_CORS_ORIGINS) are the origins, comma-separated,
	// whose pages may call the API from a browser; "" allows none.
	CORSOrigins string
	// Console (KURA_CONSOLE) serves the admin console under /admin/;
	// false leaves it out entirely (404).
	Console bool
	// Dev (KURA_DEV, serve --dev) is development mode, on loopback only:
	// CORS open to localhost origins, no registration limit, and mail
	// printed to the log rather than sent (see dev.go).
	Dev bool
	// RateLimit (KURA_RATE_LIMIT) applies the API's rate limits; false
	// turns them all off, for benchmarks.
	RateLimit bool
	// The API's rate limits (KURA_LOGIN_RATE, KURA_LOGIN_FAILURE_RATE,
	// KURA_REGISTER_RATE, KURA_ANON_READ_RATE, KURA_API_RATE); see
	// httpapi.RateLimits. Shared between instances through REDIS_URL when
	// it is set.
	LoginRate, LoginFailureRate, RegisterRate, AnonReadRate, APIRate ratelimit.Limit
	// TrustedProxies (KURA_TRUSTED_PROXIES) are the proxies, IPs and CIDR
	// prefixes, comma-separated, whose X-Forwarded-For names the client
	// the rate limits count; "" means the socket's peer is the client.
	TrustedProxies string
	// ShutdownTimeout (KURA_SHUTDOWN_TIMEOUT) bounds the drain of in-flight
	// requests and running jobs on SIGTERM.
	ShutdownTimeout Seconds
	// DrainDelay (KURA_DRAIN_DELAY) is how long serve, on SIGTERM, reports
	// itself draining on /health/ready while still serving, before it stops
	// accepting: the time a load balancer's check takes to notice.
	DrainDelay Seconds

	// Workers (KURA_WORKERS) is how many background jobs this process works
	// at once; 0 makes serve leave them to kura worker processes.
	Workers int
	// The job queue's settings (KURA_JOB_*); see jobs.Config.
	JobTimeout            Seconds
	JobRescueAfter        Seconds
	JobMaxAttempts        int
	JobPollInterval       Seconds
	JobRetention          Seconds
	JobDiscardedRetention Seconds
	// SessionCleanupInterval (KURA_SESSION_CLEANUP_INTERVAL) is how often
	// expired sessions and idempotency keys are deleted.
	SessionCleanupInterval Seconds
	// MaintainInterval (KURA_MAINTAIN_INTERVAL) is how often the job
	// workers run the database's maintenance (see kura maintain); 0 turns
	// the job off.
	MaintainInterval Seconds

	// Backups (KURA_BACKUP_*): the folder, the schedule (0 turns it off),
	// the retention, how often a scheduled backup is verified (0: the
	// engine's default) and the server a verify restores into ("": the
	// migration role's URL, else DATABASE_URL). See backup.Schedule.
	BackupDir         string
	BackupInterval    Seconds
	BackupKeepDays    int
	BackupKeep        int
	BackupVerifyEvery int
	BackupScratchURL  string

	// Mail (KURA_SMTP_URL, KURA_MAIL_*): the SMTP server (mail.SMTPConfig's
	// URL; never printed), the sender, the transport ("smtp", "log", or ""
	// for smtp when KURA_SMTP_URL is set and no mail otherwise) and the
	// folder of templates replacing kura's. See mailConfig in mail.go.
	SMTPURL       string
	MailFrom      string
	MailTransport string
	MailTemplates string
	// PublicURL (KURA_PUBLIC_URL) is the base of the links the account
	// flows mail; with mail on it turns them on (flows.go).
	// RequireVerifiedEmail (KURA_REQUIRE_VERIFIED_EMAIL) refuses the login
	// of an account whose address is not verified; it needs the flows.
	PublicURL            string
	RequireVerifiedEmail bool

	// MetricsAddr (KURA_METRICS_ADDR) is the address of the listener of
	// GET /metrics, apart from the API; "" turns it off.
	MetricsAddr string
	// MetricsToken (KURA_METRICS_TOKEN), if set, is the bearer token every
	// /metrics requires, and serve's API server answers GET /metrics too.
	// "" leaves the API server without /metrics (404). Never logged.
	MetricsToken string

	// LogLevel (KURA_LOG_LEVEL) and LogFormat (KURA_LOG_FORMAT: text or
	// json) shape the process's logs.
	LogLevel  slog.Level
	LogFormat string
	// LogFlushInterval (KURA_LOG_FLUSH_INTERVAL) is how long serve and
	// worker hold info lines (the access log) before writing them; warnings
	// and errors are written at once. 0 writes every line at once.
	LogFlushInterval Seconds
}

// The defaults that belong to the command rather than to a package.
const (
	defaultDBPort          = "5432"
	defaultDBName          = "kura"
	defaultDBUser          = "postgres"
	defaultStatsCacheTTL   = time.Minute
	defaultCachePrefix     = "kura:"
	defaultShutdownTimeout = 15 * time.Second
	// defaultDrainDelay covers the shipped haproxy check (inter 2s, fall 2)
	// with a second to spare; deploy's tests hold the two together.
	defaultDrainDelay             = 5 * time.Second
	defaultSessionCleanupInterval = time.Hour
	defaultMaintainInterval       = 24 * time.Hour
	defaultLogFlushInterval       = 100 * time.Millisecond
	defaultDBConnectTimeout       = 30 * time.Second
	maxWorkers                    = 10_000 // River's most workers per queue
	minMetricsToken               = 16
)

// DefaultConfig is the configuration before any variable is read: the
// packages' Default* values, and the command's own above. It is the one
// place kura's defaults are set; the help and the README show them.
func DefaultConfig() Config {
	return Config{
		Addr:                   httpapi.DefaultAddr,
		DBPort:                 defaultDBPort,
		DBName:                 defaultDBName,
		DBUser:                 defaultDBUser,
		PoolSize:               sqldb.DefaultPoolSize,
		MaxOverflow:            sqldb.DefaultMaxOverflow,
		ConnMaxAge:             Seconds(sqldb.DefaultConnMaxAge),
		PoolTimeout:            Seconds(sqldb.DefaultPoolTimeout),
		ReplicaMaxLag:          Seconds(sqldb.DefaultReplicaMaxLag),
		PrePing:                true,
		DBConnectTimeout:       Seconds(defaultDBConnectTimeout),
		CacheTTL:               Seconds(cache.DefaultTTL),
		StatsCacheTTL:          Seconds(defaultStatsCacheTTL),
		CacheSize:              cache.DefaultSize,
		CachePrefix:            defaultCachePrefix,
		AutoMigrate:            true,
		SessionTTL:             Seconds(kura.DefaultSessionTTL),
		RateLimit:              true,
		Console:                true,
		LoginRate:              httpapi.DefaultLoginLimit,
		LoginFailureRate:       httpapi.DefaultLoginFailureLimit,
		RegisterRate:           httpapi.DefaultAnonWriteLimit,
		AnonReadRate:           httpapi.DefaultAnonReadLimit,
		APIRate:                httpapi.DefaultTokenLimit,
		ShutdownTimeout:        Seconds(defaultShutdownTimeout),
		DrainDelay:             Seconds(defaultDrainDelay),
		Workers:                jobs.DefaultConcurrency,
		JobTimeout:             Seconds(jobs.DefaultJobTimeout),
		JobRescueAfter:         Seconds(jobs.DefaultRescueAfter),
		JobMaxAttempts:         jobs.DefaultMaxAttempts,
		JobPollInterval:        Seconds(jobs.DefaultPollInterval),
		JobRetention:           Seconds(jobs.DefaultRetention),
		JobDiscardedRetention:  Seconds(jobs.DefaultDiscardedRetention),
		SessionCleanupInterval: Seconds(defaultSessionCleanupInterval),
		MaintainInterval:       Seconds(defaultMaintainInterval),
		BackupDir:              backup.DefaultDir,
		BackupInterval:         Seconds(backup.DefaultInterval),
		BackupKeepDays:         backup.DefaultKeepDays,
		BackupKeep:             backup.DefaultKeep,
		LogLevel:               slog.LevelInfo,
		LogFormat:              "text",
		MetricsAddr:            metrics.DefaultAddr,
		LogFlushInterval:       Seconds(defaultLogFlushInterval),
	}
}

// fieldError is a configuration value that is out of range.
type fieldError struct {
	name string // the variable
	msg  string // what is wrong and the form expected
}

// validate checks the ranges of c's values, naming each variable.
func (c *Config) validate() []fieldError {
	var errs []fieldError
	atLeast := func(name string, v, lo int) {
		if v < lo {
			errs = append(errs, fieldError{name, fmt.Sprintf("%d is too small: want a whole number of %d or more", v, lo)})
		}
	}
	positive := func(name string, s Seconds) {
		if s <= 0 {
			errs = append(errs, fieldError{name, "want a positive number of seconds or a duration such as 30s, not 0"})
		}
	}
	atLeast("DB_POOL_SIZE", c.PoolSize, 1)
	atLeast("DB_MAX_OVERFLOW", c.MaxOverflow, 0)
	positive("DB_POOL_TIMEOUT", c.PoolTimeout)
	positive("KURA_REPLICA_MAX_LAG", c.ReplicaMaxLag)
	if len(c.ReplicaURLList()) > 0 {
		if d, err := sqldb.ParseDialect(c.URL()); err == nil && (d != sqldb.Postgres || c.URL() == "") {
			errs = append(errs, fieldError{"DATABASE_REPLICA_URLS", "read replicas need PostgreSQL streaming replication, and DATABASE_URL is " + string(d) +
				": remove DATABASE_REPLICA_URLS or use a postgres:// DATABASE_URL"})
		}
		for _, u := range c.ReplicaURLList() {
			if d, err := sqldb.ParseDialect(u); err != nil || d != sqldb.Postgres {
				errs = append(errs, fieldError{"DATABASE_REPLICA_URLS", sqldb.RedactURL(u) + " is not a postgres:// URL: a read replica is a PostgreSQL streaming standby"})
			} else if u == c.URL() {
				errs = append(errs, fieldError{"DATABASE_REPLICA_URLS", "names DATABASE_URL itself: want a streaming standby of it"})
			}
		}
	}
	atLeast("CACHE_SIZE", c.CacheSize, 1)
	if c.SessionTTL < Seconds(time.Minute) {
		errs = append(errs, fieldError{"KURA_SESSION_TTL", fmt.Sprintf("%s is too short: want a minute or more", c.SessionTTL.D())})
	}
	atLeast("KURA_WORKERS", c.Workers, 0)
	if c.Workers > maxWorkers {
		errs = append(errs, fieldError{"KURA_WORKERS", fmt.Sprintf("%d is too many: want %d or fewer (more jobs at once need more processes: kura worker)", c.Workers, maxWorkers)})
	}
	if c.DatabaseURL == "" && c.DBHost != "" && !strings.HasPrefix(c.DBHost, "/") {
		if n, err := strconv.Atoi(c.DBPort); err != nil || n < 1 || n > 65535 {
			errs = append(errs, fieldError{"DB_PORT", fmt.Sprintf("%q is not a port: want a number from 1 to 65535, such as 5432", c.DBPort)})
		}
	}
	if err := checkListenAddr(c.Addr); err != nil {
		errs = append(errs, fieldError{"KURA_ADDR", err.Error()})
	}
	positive("KURA_JOB_TIMEOUT", c.JobTimeout)
	if c.JobRescueAfter <= c.JobTimeout {
		errs = append(errs, fieldError{"KURA_JOB_RESCUE_AFTER", fmt.Sprintf("%s is too short: want longer than KURA_JOB_TIMEOUT (%s)", c.JobRescueAfter.D(), c.JobTimeout.D())})
	}
	atLeast("KURA_JOB_MAX_ATTEMPTS", c.JobMaxAttempts, 1)
	positive("KURA_JOB_POLL_INTERVAL", c.JobPollInterval)
	positive("KURA_JOB_RETENTION", c.JobRetention)
	positive("KURA_JOB_DISCARDED_RETENTION", c.JobDiscardedRetention)
	positive("KURA_SESSION_CLEANUP_INTERVAL", c.SessionCleanupInterval)
	atLeast("KURA_BACKUP_KEEP_DAYS", c.BackupKeepDays, 1)
	atLeast("KURA_BACKUP_KEEP", c.BackupKeep, 1)
	atLeast("KURA_BACKUP_VERIFY_EVERY", c.BackupVerifyEvery, 0)
	if c.BackupInterval > 0 && c.JobRescueAfter.D() <= backup.JobTimeout && c.JobRescueAfter > c.JobTimeout {
		errs = append(errs, fieldError{"KURA_JOB_RESCUE_AFTER", fmt.Sprintf("%s is too short while scheduled backups are on: want longer than a backup may take (%s), or KURA_BACKUP_INTERVAL=0", c.JobRescueAfter.D(), backup.JobTimeout)})
	}
	if c.BackupInterval < 0 {
		errs = append(errs, fieldError{"KURA_BACKUP_INTERVAL", "negative: want a duration such as 24h, or 0 to turn scheduled backups off"})
	}
	if c.BackupDir == "" {
		errs = append(errs, fieldError{"KURA_BACKUP_DIR", "empty: want a folder, such as " + backup.DefaultDir})
	}
	if _, err := sqldb.ParseDialect(c.URL()); err != nil {
		errs = append(errs, fieldError{"DATABASE_URL", "the scheme is not one kura knows: want a file path, sqlite:, postgres:// or mysql://"})
	}
	errs = append(errs, c.validateURLs()...)
	if d, err := sqldb.ParseDialect(c.MigrateDatabaseURL); c.MigrateDatabaseURL != "" && err == nil {
		if main, _ := sqldb.ParseDialect(c.URL()); d != main {
			errs = append(errs, fieldError{"KURA_MIGRATE_DATABASE_URL", fmt.Sprintf("a %s URL, but DATABASE_URL is %s: want the same database as the migration role", d, main)})
		}
	} else if c.MigrateDatabaseURL != "" {
		errs = append(errs, fieldError{"KURA_MIGRATE_DATABASE_URL", "the scheme is not one kura knows: want postgres:// or mysql://, as DATABASE_URL"})
	}
	if c.BackupScratchURL != "" {
		if d, err := sqldb.ParseDialect(c.BackupScratchURL); err != nil || d == sqldb.SQLite {
			errs = append(errs, fieldError{"KURA_BACKUP_SCRATCH_URL", "want a postgres:// or mysql:// URL of the same server kind as DATABASE_URL"})
		} else if main, _ := sqldb.ParseDialect(c.URL()); d != main {
			errs = append(errs, fieldError{"KURA_BACKUP_SCRATCH_URL", fmt.Sprintf("a %s URL, but DATABASE_URL is %s", d, main)})
		}
	}
	if c.MetricsAddr != "" {
		if checkListenAddr(c.MetricsAddr) != nil {
			errs = append(errs, fieldError{"KURA_METRICS_ADDR", fmt.Sprintf("%q is not host:port: want such as 127.0.0.1:9464, or empty to turn the listener off", c.MetricsAddr)})
		}
	}
	for _, o := range c.CORSOriginList() {
		if err := httpapi.ValidateOrigin(o); err != nil {
			errs = append(errs, fieldError{"KURA_CORS_ORIGINS", strings.TrimPrefix(err.Error(), "CORSOrigins: ") + " (entries comma-separated)"})
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < minMetricsToken {
		// The token is a secret: never quoted.
		errs = append(errs, fieldError{"KURA_METRICS_TOKEN", fmt.Sprintf("too short: want %d characters or more (such as the output of openssl rand -hex 32)", minMetricsToken)})
	}
	errs = append(errs, c.validateRateLimits()...)
	errs = append(errs, c.validateDev()...)
	errs = append(errs, c.validateMail()...)
	errs = append(errs, c.validateFlows()...)
	if c.RedisURL != "" && !credurl.Malformed(c.RedisURL) && (cache.Config{RedisURL: c.RedisURL}).Validate() != nil {
		errs = append(errs, fieldError{"REDIS_URL", "not a Redis URL: want redis://, rediss:// or unix://, such as redis://127.0.0.1:6379/0"})
	}
	if len(errs) > 0 {
		return errs
	}
	// The packages check the configurations made from c as well; what
	// they refuse, kura must not pass on.
	for _, err := range []error{c.DB(nil).Validate(), c.Jobs(c.Workers, nil).Validate(), c.Cache(c.CacheTTL.D(), "").Validate()} {
		if err != nil {
			errs = append(errs, fieldError{"configuration", err.Error()})
		}
	}
	return errs
}

// validateURLs refuses a URL setting whose user information could not be
// read as written (a password with an unescaped '@', '/', '%', '#', '?'
// or ':'), before anything parses it or connects: the drivers would take
// part of the password for the host or the path and print it. The message
// names the variable and how to escape, never the URL.
func (c *Config) validateURLs() []fieldError {
	var errs []fieldError
	for _, u := range []struct {
		name, url string
		check     func(string) error
	}{
		{"DATABASE_URL", c.DatabaseURL, sqldb.CheckURL},
		{"KURA_MIGRATE_DATABASE_URL", c.MigrateDatabaseURL, sqldb.CheckURL},
		{"KURA_BACKUP_SCRATCH_URL", c.BackupScratchURL, sqldb.CheckURL},
		{"REDIS_URL", c.RedisURL, credurl.Check},
		{"KURA_SMTP_URL", c.SMTPURL, credurl.Check},
	} {
		if err := u.check(u.url); err != nil {
			errs = append(errs, fieldError{u.name, err.Error()})
		}
	}
	for _, u := range c.ReplicaURLList() {
		if err := sqldb.CheckURL(u); err != nil {
			errs = append(errs, fieldError{"DATABASE_REPLICA_URLS", err.Error()})
		}
	}
	return errs
}

// URL returns the database URL: DATABASE_URL, or one built from DB_HOST & co.
// (password escaped), or "" for the default SQLite file.
func (c *Config) URL() string {
	if c.DatabaseURL != "" || c.DBHost == "" {
		return c.DatabaseURL
	}
	u := url.URL{Scheme: "postgres", Path: "/" + c.DBName}
	if c.DBPassword != "" {
		u.User = url.UserPassword(c.DBUser, c.DBPassword)
	} else {
		u.User = url.User(c.DBUser)
	}
	if strings.HasPrefix(c.DBHost, "/") { // a unix socket directory
		u.Host = ""
		q := url.Values{"host": {c.DBHost}, "port": {c.DBPort}}
		u.RawQuery = q.Encode()
		return u.String()
	}
	u.Host = net.JoinHostPort(c.DBHost, c.DBPort)
	mode := c.DBSSLMode
	if mode == "" {
		mode = "require"
		if IsLoopback(c.DBHost) {
			mode = "disable"
		}
	}
	u.RawQuery = url.Values{"sslmode": {mode}}.Encode()
	return u.String()
}

// DB returns the database configuration.
func (c *Config) DB(logger *slog.Logger) sqldb.Config {
	prePing := c.PrePing
	overflow := c.MaxOverflow
	if overflow == 0 {
		overflow = -1 // sqldb reads zero as "the default"; DB_MAX_OVERFLOW=0 means none
	}
	return sqldb.Config{
		URL:           c.URL(),
		PoolSize:      c.PoolSize,
		MaxOverflow:   overflow,
		ConnMaxAge:    c.ConnMaxAge.D(),
		PoolTimeout:   c.PoolTimeout.D(),
		PrePing:       &prePing,
		AllowInsecure: c.AllowInsecure,
		ReplicaURLs:   c.ReplicaURLList(),
		ReplicaMaxLag: c.ReplicaMaxLag.D(),
		Logger:        logger,
	}
}

// ReplicaURLList returns DATABASE_REPLICA_URLS split at its commas, blanks
// dropped.
func (c *Config) ReplicaURLList() []string {
	var urls []string
	for u := range strings.SplitSeq(c.ReplicaURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// Backup returns the configuration of backups of this database: dumped
// as the migration role when KURA_MIGRATE_DATABASE_URL is set (the
// schema's owner reads every table), else as DATABASE_URL's.
func (c *Config) Backup(logger *slog.Logger) backup.Config {
	url := c.URL()
	if url == "" {
		url = sqldb.DefaultURL // no DATABASE_URL: the default SQLite file, as serve opens it
	}
	if c.MigrateDatabaseURL != "" {
		url = c.MigrateDatabaseURL
	}
	return backup.Config{URL: url, Dir: c.BackupDir, ScratchURL: c.BackupScratchURL, AllowInsecure: c.AllowInsecure, Logger: logger}
}

// Retention returns the backups' retention.
func (c *Config) Retention() backup.Retention {
	return backup.Retention{KeepDays: c.BackupKeepDays, Keep: c.BackupKeep}
}

// Jobs returns the job queue's configuration, working concurrency jobs at
// once; the caller adds the workers and periodic jobs.
func (c *Config) Jobs(concurrency int, logger *slog.Logger) jobs.Config {
	return jobs.Config{
		Concurrency:        concurrency,
		MaxAttempts:        c.JobMaxAttempts,
		JobTimeout:         c.JobTimeout.D(),
		RescueAfter:        c.JobRescueAfter.D(),
		PollInterval:       c.JobPollInterval.D(),
		Retention:          c.JobRetention.D(),
		DiscardedRetention: c.JobDiscardedRetention.D(),
		Logger:             logger,
	}
}

// Cache returns the configuration of a cache whose entries live ttl, under
// the deployment's prefix and kind (such as "user:"), shared through Redis
// when REDIS_URL is set.
func (c *Config) Cache(ttl time.Duration, kind string) cache.Config {
	return cache.Config{TTL: ttl, Size: c.CacheSize, RedisURL: c.RedisURL, Prefix: c.CachePrefix + kind}
}

// Logger returns the process logger writing to w.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(jsonlog.New(w, opts)) // slog's JSON lines, cheaper (see package jsonlog)
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CORSOriginList returns the origins of KURA_CORS_ORIGINS, blanks dropped.
func (c *Config) CORSOriginList() []string {
	var origins []string
	for o := range strings.SplitSeq(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	return origins
}

// checkListenAddr checks that addr is a host:port a server can listen on
// (the host may be empty, for every interface).
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("bad port")
		}
	}
	if err != nil {
		return fmt.Errorf("%q is not host:port: want such as 127.0.0.1:8080, or 0.0.0.0:8080 for every interface", addr)
	}
	return nil
}
