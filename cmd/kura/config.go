package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"

	"github.com/kura-dev/kura/sqldb"
)

// Config is kura's configuration. Each value comes from a command-line flag
// where the command has one, else from the environment, else from the .env
// file, else from the default given here. kura's own variables start with
// KURA_; the database variables keep the names the guide uses.
type Config struct {
	// Addr is the HTTP listen address.
	Addr string `env:"KURA_ADDR" envDefault:"127.0.0.1:8080"`

	// DatabaseURL selects the engine: a SQLite path or sqlite: URL,
	// postgres:// or mysql://. Empty means DB_HOST & co. when DB_HOST is
	// set, else the SQLite file ./data/kura.db.
	DatabaseURL string `env:"DATABASE_URL"`

	// The guide's PostgreSQL settings, used only without DATABASE_URL.
	DBHost     string `env:"DB_HOST"`
	DBPort     string `env:"DB_PORT" envDefault:"5432"`
	DBName     string `env:"DB_NAME" envDefault:"kura"`
	DBUser     string `env:"DB_USER" envDefault:"postgres"`
	DBPassword string `env:"DB_PASSWORD"`
	DBSSLMode  string `env:"DB_SSLMODE"` // empty: require off-loopback, disable on loopback

	// Pool settings in the guide's vocabulary; durations accept "600" (seconds) or "10m".
	PoolSize      int     `env:"DB_POOL_SIZE" envDefault:"5"`
	MaxOverflow   int     `env:"DB_MAX_OVERFLOW" envDefault:"10"`
	ConnMaxAge    Seconds `env:"DB_CONN_MAX_AGE" envDefault:"600"`
	PoolTimeout   Seconds `env:"DB_POOL_TIMEOUT" envDefault:"5"`
	PrePing       bool    `env:"DB_PRE_PING" envDefault:"true"`
	AllowInsecure bool    `env:"KURA_DB_ALLOW_INSECURE"`

	// CacheTTL is how long a user read is cached; 0 turns caching off.
	CacheTTL Seconds `env:"CACHE_TTL" envDefault:"300"`
	// StatsCacheTTL is how long GET /api/stats figures are reused; 0
	// computes them on every request.
	StatsCacheTTL Seconds `env:"STATS_CACHE_TTL" envDefault:"60"`
	// CacheSize bounds the in-process cache, in entries.
	CacheSize int `env:"CACHE_SIZE" envDefault:"10000"`
	// RedisURL shares the cache, and its invalidations, between instances.
	RedisURL string `env:"REDIS_URL"`
	// CachePrefix starts every Redis key and channel of this deployment, so
	// that several apps can share one Redis.
	CachePrefix string `env:"KURA_CACHE_PREFIX" envDefault:"kura:"`

	// AutoMigrate applies pending migrations when serve starts.
	AutoMigrate bool `env:"KURA_AUTO_MIGRATE" envDefault:"true"`
	// SessionTTL is how long a login token lives.
	SessionTTL Seconds `env:"KURA_SESSION_TTL" envDefault:"168h"`
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM.
	ShutdownTimeout Seconds `env:"KURA_SHUTDOWN_TIMEOUT" envDefault:"15"`

	// Workers is how many background jobs this process works at once
	// (serve and worker); 0 makes serve leave them to kura worker
	// processes.
	Workers int `env:"KURA_WORKERS" envDefault:"10"`
	// JobTimeout bounds one attempt of a job; JobRescueAfter is how long a
	// job may stay running before it is taken for lost (its process died)
	// and retried.
	JobTimeout     Seconds `env:"KURA_JOB_TIMEOUT" envDefault:"60"`
	JobRescueAfter Seconds `env:"KURA_JOB_RESCUE_AFTER" envDefault:"3600"`
	// JobMaxAttempts is a job's attempts before it is discarded (dead).
	JobMaxAttempts int `env:"KURA_JOB_MAX_ATTEMPTS" envDefault:"25"`
	// JobPollInterval is how often idle workers look for due jobs.
	JobPollInterval Seconds `env:"KURA_JOB_POLL_INTERVAL" envDefault:"1"`
	// JobRetention keeps completed and cancelled jobs, and
	// JobDiscardedRetention discarded ones, before the prune job deletes
	// them.
	JobRetention          Seconds `env:"KURA_JOB_RETENTION" envDefault:"24h"`
	JobDiscardedRetention Seconds `env:"KURA_JOB_DISCARDED_RETENTION" envDefault:"168h"`
	// SessionCleanupInterval is how often expired sessions are deleted.
	SessionCleanupInterval Seconds `env:"KURA_SESSION_CLEANUP_INTERVAL" envDefault:"1h"`

	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	LogLevel  string `env:"KURA_LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"KURA_LOG_FORMAT" envDefault:"text"`
}

// Seconds is a duration that reads either a plain number of seconds, as the
// guide writes them ("600"), or a Go duration ("10m", "1.5s").
type Seconds time.Duration

// D returns s as a time.Duration.
func (s Seconds) D() time.Duration { return time.Duration(s) }

// maxSeconds is the longest duration a time.Duration holds, about 292 years.
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

func parseSeconds(v string) (any, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if math.IsNaN(n) || n < 0 || n > maxSeconds {
			return nil, fmt.Errorf("%q is not a number of seconds from 0 to %d", v, int64(maxSeconds))
		}
		return Seconds(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return nil, fmt.Errorf("%q is not a number of seconds or a duration such as 30s", v)
	}
	return Seconds(d), nil
}

// LoadConfig reads the configuration from environ (KEY=VALUE pairs, as
// os.Environ returns them) over the .env file at envFile. A missing .env file
// is not an error; a malformed one is, without echoing its contents.
func LoadConfig(environ []string, envFile string) (Config, error) {
	vars := map[string]string{}
	if envFile != "" {
		dotenv, err := godotenv.Read(envFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return Config{}, fmt.Errorf("read %s: the file is not in KEY=VALUE form", envFile)
		}
		for k, v := range dotenv {
			vars[k] = v
		}
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	var cfg Config
	err := env.ParseWithOptions(&cfg, env.Options{
		Environment: vars,
		FuncMap:     map[reflect.Type]env.ParserFunc{reflect.TypeFor[Seconds](): parseSeconds},
	})
	if err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, cfg.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.PoolSize < 1 {
		errs = append(errs, errors.New("DB_POOL_SIZE must be at least 1"))
	}
	if c.CacheSize < 1 {
		errs = append(errs, errors.New("CACHE_SIZE must be at least 1"))
	}
	if c.MaxOverflow < 0 {
		errs = append(errs, errors.New("DB_MAX_OVERFLOW must not be negative"))
	}
	if c.PoolTimeout <= 0 {
		errs = append(errs, errors.New("DB_POOL_TIMEOUT must be positive"))
	}
	if c.SessionTTL < Seconds(time.Minute) {
		errs = append(errs, errors.New("KURA_SESSION_TTL must be at least one minute"))
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("KURA_WORKERS must not be negative"))
	}
	if c.JobTimeout <= 0 || c.JobPollInterval <= 0 || c.JobRetention <= 0 || c.JobDiscardedRetention <= 0 || c.SessionCleanupInterval <= 0 {
		errs = append(errs, errors.New("KURA_JOB_TIMEOUT, KURA_JOB_POLL_INTERVAL, KURA_JOB_RETENTION, KURA_JOB_DISCARDED_RETENTION and KURA_SESSION_CLEANUP_INTERVAL must be positive"))
	}
	if c.JobRescueAfter <= c.JobTimeout {
		errs = append(errs, errors.New("KURA_JOB_RESCUE_AFTER must be longer than KURA_JOB_TIMEOUT"))
	}
	if c.JobMaxAttempts < 1 {
		errs = append(errs, errors.New("KURA_JOB_MAX_ATTEMPTS must be at least 1"))
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, errors.New("KURA_LOG_FORMAT must be text or json"))
	}
	return errors.Join(errs...)
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, errors.New("KURA_LOG_LEVEL must be debug, info, warn or error")
	}
	return l, nil
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
		if isLoopback(c.DBHost) {
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
		Logger:        logger,
	}
}

// Logger returns the process logger writing to w.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	level, _ := c.level()
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
