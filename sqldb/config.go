package sqldb

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/kura-dev/kura/internal/credurl"
)

// Dialect names a database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql" // MySQL and MariaDB
)

// Defaults applied by Config.WithDefaults.
const (
	DefaultURL         = "./data/kura.db"
	DefaultPoolSize    = 5
	DefaultMaxOverflow = 10
	DefaultConnMaxAge  = 600 * time.Second
	DefaultConnMaxIdle = 5 * time.Minute
	DefaultPoolTimeout = 5 * time.Second
	// DefaultReplicaMaxLag is Config.ReplicaMaxLag's default.
	DefaultReplicaMaxLag = 5 * time.Second
	// DefaultReplicaWait is Config.ReplicaWait's default.
	DefaultReplicaWait = 100 * time.Millisecond
	// ConnectTimeout bounds the first connection made by Open and each new
	// connection dialled to a PostgreSQL or MySQL server.
	ConnectTimeout = 5 * time.Second
)

// Config says which database to open and how to pool its connections. The
// zero Config opens ./data/kura.db with the defaults below; WithDefaults
// fills them in one place.
type Config struct {
	// URL (DATABASE_URL) selects the engine. "" means DefaultURL. A bare
	// path, "sqlite:path", "sqlite:///abs/path" or "file:path" opens SQLite
	// (the folder is created); "postgres://" or "postgresql://" opens
	// PostgreSQL; "mysql://user:pass@host:port/db?params" opens MySQL or
	// MariaDB (for a unix socket: "mysql://user@localhost/db?socket=/path").
	URL string

	// PoolSize (DB_POOL_SIZE) is the number of idle connections kept open.
	// Zero means DefaultPoolSize.
	PoolSize int

	// MaxOverflow (DB_MAX_OVERFLOW) is how many connections may be opened
	// beyond PoolSize under load: at most PoolSize+MaxOverflow are open.
	// Zero means DefaultMaxOverflow; a negative value means none.
	MaxOverflow int

	// ConnMaxAge (DB_CONN_MAX_AGE) is the longest a connection is reused
	// before it is closed and replaced. Zero means DefaultConnMaxAge; a
	// negative value means forever.
	ConnMaxAge time.Duration

	// ConnMaxIdle is how often connections opened beyond PoolSize are
	// closed once idle, so the pool shrinks back after a burst (on SQLite:
	// how long an idle reader connection is kept). Zero means
	// DefaultConnMaxIdle; a negative value means never.
	ConnMaxIdle time.Duration

	// PoolTimeout (DB_POOL_TIMEOUT) is the longest a call waits for a free
	// connection; past it the call fails with a kura.Error of code
	// EUNAVAILABLE. Zero means DefaultPoolTimeout.
	PoolTimeout time.Duration

	// PrePing (DB_PRE_PING) checks a connection that sat idle for more than
	// a second before reusing it (PostgreSQL: a ping; MySQL: a liveness
	// check of the socket; SQLite: not needed). Nil means true.
	PrePing *bool

	// AllowInsecure (KURA_DB_ALLOW_INSECURE) permits an unencrypted
	// connection to a server that is neither on a loopback address nor
	// behind a unix socket. False refuses such a connection.
	AllowInsecure bool

	// ReplicaURLs (DATABASE_REPLICA_URLS) are PostgreSQL streaming
	// replicas of the database at URL. Reads that may be slightly stale
	// (public profiles, lists, stats, a signed-in user's reads once their
	// own writes have been replayed) run on one of them. Only for a
	// PostgreSQL URL. Empty means every read runs on URL.
	ReplicaURLs []string

	// ReplicaMaxLag (KURA_REPLICA_MAX_LAG) is the most a replica may lag
	// behind the primary and still serve reads. Zero means
	// DefaultReplicaMaxLag.
	ReplicaMaxLag time.Duration

	// ReplicaWait is the longest a read waits for a replica to replay the
	// caller's own last write before it runs on the primary instead. Zero
	// means DefaultReplicaWait.
	ReplicaWait time.Duration

	// Positions, if set, shares the position of each user's last write
	// between instances (cache.Positions, on Redis), so that a user's read
	// on another instance than their write's never reads a replica older
	// than the write. Nil keeps positions in this process only.
	Positions PositionStore

	// Logger receives the package's few log lines. Nil means slog.Default().
	Logger *slog.Logger
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxOverflow == 0 {
		c.MaxOverflow = DefaultMaxOverflow
	} else if c.MaxOverflow < 0 {
		c.MaxOverflow = 0
	}
	if c.ConnMaxAge == 0 {
		c.ConnMaxAge = DefaultConnMaxAge
	}
	if c.ConnMaxIdle == 0 {
		c.ConnMaxIdle = DefaultConnMaxIdle
	}
	if c.PoolTimeout <= 0 {
		c.PoolTimeout = DefaultPoolTimeout
	}
	if c.PrePing == nil {
		t := true
		c.PrePing = &t
	}
	if c.ReplicaMaxLag <= 0 {
		c.ReplicaMaxLag = DefaultReplicaMaxLag
	}
	if c.ReplicaWait <= 0 {
		c.ReplicaWait = DefaultReplicaWait
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports what is wrong with c, naming each field and the form
// it expects; nil means Open can use it. It checks c as given: zero
// fields are fine (they mean the defaults).
func (c Config) Validate() error {
	var errs []error
	if c.URL != "" {
		if _, err := ParseDialect(c.URL); err != nil {
			errs = append(errs, fmt.Errorf("URL: %w", err))
		} else if err := CheckURL(c.URL); err != nil {
			errs = append(errs, fmt.Errorf("URL: %w", err))
		}
	}
	if c.PoolSize < 0 {
		errs = append(errs, fmt.Errorf("PoolSize: %d is negative; want 1 or more, or 0 for %d", c.PoolSize, DefaultPoolSize))
	}
	if c.PoolTimeout < 0 {
		errs = append(errs, fmt.Errorf("PoolTimeout: %s is negative; want a positive duration, or 0 for %s", c.PoolTimeout, DefaultPoolTimeout))
	}
	errs = append(errs, c.validateReplicas()...)
	return errors.Join(errs...)
}

// validateReplicas checks ReplicaURLs: PostgreSQL URLs, readable, none the
// same as URL, for a PostgreSQL URL.
func (c Config) validateReplicas() []error {
	if len(c.ReplicaURLs) == 0 {
		return nil
	}
	if d, err := ParseDialect(c.URL); err == nil && d != Postgres {
		if c.URL == "" {
			d = SQLite
		}
		return []error{fmt.Errorf("ReplicaURLs: read replicas need PostgreSQL streaming replication, "+
			"and the database is %s; remove the replica URLs or use a postgres:// URL", d)}
	}
	var errs []error
	for i, u := range c.ReplicaURLs {
		if d, err := ParseDialect(u); err != nil || d != Postgres {
			errs = append(errs, fmt.Errorf("ReplicaURLs[%d]: %s is not a postgres:// URL; a read replica is a PostgreSQL streaming standby", i, RedactURL(u)))
		} else if err := CheckURL(u); err != nil {
			errs = append(errs, fmt.Errorf("ReplicaURLs[%d]: %w", i, err))
		} else if u == c.URL {
			errs = append(errs, fmt.Errorf("ReplicaURLs[%d]: is the database URL itself; name a streaming standby of it", i))
		}
	}
	if c.ReplicaMaxLag < 0 {
		errs = append(errs, fmt.Errorf("ReplicaMaxLag: %s is negative; want a positive duration, or 0 for %s", c.ReplicaMaxLag, DefaultReplicaMaxLag))
	}
	return errs
}

// ParseDialect returns the engine a DATABASE_URL selects. It does not
// validate the rest of the URL.
func ParseDialect(rawURL string) (Dialect, error) {
	scheme, _, ok := strings.Cut(rawURL, ":")
	if !ok || len(scheme) <= 1 || strings.ContainsAny(scheme, `/\.`) {
		// A bare path (a one-letter "scheme" is a Windows drive).
		return SQLite, nil
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3", "file":
		return SQLite, nil
	case "postgres", "postgresql":
		return Postgres, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return "", fmt.Errorf("unsupported DATABASE_URL scheme %q: use a file path, sqlite:, postgres:// or mysql://", scheme)
}

// ErrMalformedURL is the error of CheckURL: the user information of a URL
// could not be read as written. Its message says how to escape a password
// and quotes no part of the URL.
var ErrMalformedURL = credurl.ErrMalformed

// CheckURL returns ErrMalformedURL when the user
// information of a PostgreSQL or MySQL URL is not exactly what a parser
// would find: a password with an unescaped '@', '/', '%', '#', '?' or ':'
// that the drivers would read in part as the host, the path or the query,
// and then print. The error quotes no part of the URL and says how to
// escape the password. A SQLite path or URL is not checked (it has no
// password, and its path may hold '@'). Open, Config.Validate and
// URLTransport call it before any parsing or connection.
func CheckURL(rawURL string) error {
	if d, err := ParseDialect(rawURL); err != nil || d == SQLite {
		return nil
	}
	return credurl.Check(rawURL)
}

// RedactURL returns rawURL with any password (in the user info or in a
// password or sslpassword parameter) replaced by "xxxxx", safe to log. Of
// a URL CheckURL refuses, everything between "://" and the last '@' is
// replaced; of one that does not parse, everything after "://".
func RedactURL(rawURL string) string {
	if d, _ := ParseDialect(rawURL); d != SQLite && credurl.Malformed(rawURL) {
		return credurl.Redact(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// Unparseable: keep only what precedes the user info.
		if i := strings.Index(rawURL, "://"); i >= 0 {
			return rawURL[:i+3] + credurl.Mask
		}
		return credurl.Mask
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), credurl.Mask)
	}
	q := u.Query()
	changed := false
	for k := range q {
		if k == "password" || k == "sslpassword" {
			q.Set(k, credurl.Mask)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secrets returns the passwords a URL carries, raw and escaped, so that they
// can be scrubbed from error messages and logs; of a URL CheckURL refuses,
// the whole text between "://" and its last '@' as well.
func secrets(rawURL string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 { // scrubbing shorter strings would mangle messages
			out = append(out, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	for _, s := range credurl.Secrets(rawURL) {
		add(s)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.Index(rawURL, "://"); i >= 0 {
			if at := strings.LastIndex(rawURL, "@"); at > i {
				if _, pw, ok := strings.Cut(rawURL[i+3:at], ":"); ok {
					add(pw)
				}
			}
		}
		return out
	}
	for _, k := range []string{"password", "sslpassword"} {
		if v := u.Query().Get(k); v != "" {
			add(v)
		}
	}
	return out
}

// sqlitePath returns the file path a SQLite DATABASE_URL names.
func sqlitePath(rawURL string) (string, error) {
	p, isURL := rawURL, false
	for _, prefix := range []string{"sqlite3:", "sqlite:", "file:"} {
		if len(p) >= len(prefix) && strings.EqualFold(p[:len(prefix)], prefix) {
			p = p[len(prefix):]
			p = strings.TrimPrefix(p, "//") // sqlite:///abs -> /abs, sqlite://rel -> rel
			isURL = true
			break
		}
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return "", fmt.Errorf("sqlite: query parameters in DATABASE_URL are not supported (kura sets the pragmas itself)")
	}
	if p == "" || p == ":memory:" || strings.HasPrefix(p, "file::memory:") {
		return "", fmt.Errorf("sqlite: an in-memory database cannot be shared by the writer and reader pools; name a file")
	}
	if isURL {
		if unescaped, err := url.PathUnescape(p); err == nil {
			p = unescaped
		}
	}
	return filepath.Abs(p)
}
