package cache

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/kura-dev/kura"
	"github.com/maypok86/otter/v2"
)

// Defaults applied by Config.WithDefaults to zero fields.
const (
	DefaultTTL                 = 300 * time.Second
	DefaultSize                = 10_000
	DefaultJitter              = 0.1
	DefaultNotFoundTTL         = 5 * time.Second
	DefaultPrefix              = "cache:"
	DefaultRedisTimeout        = 100 * time.Millisecond
	DefaultInvalidationTimeout = time.Second
	DefaultLockTTL             = 10 * time.Second
)

// Config configures a Cache. The zero value is a usable in-process cache;
// setting RedisURL adds the Redis tier. An application maps CACHE_TTL onto
// TTL, CACHE_SIZE onto Size and REDIS_URL onto RedisURL.
type Config struct {
	// TTL is how long a loaded value lives in each tier, before jitter.
	// Zero means DefaultTTL (300s).
	TTL time.Duration

	// Size is the most entries the in-process tier holds; the least
	// valuable are evicted beyond it. Zero means DefaultSize (10,000).
	Size int

	// Jitter spreads every TTL uniformly over ±Jitter of its length, so
	// entries made together do not expire together. Zero means
	// DefaultJitter (0.1, that is ±10%); a negative value turns jitter off.
	Jitter float64

	// NotFoundTTL is how long a load that failed with a not-found error
	// (see IsNotFound) is remembered, before jitter. Zero means
	// DefaultNotFoundTTL (5s); a negative value turns negative caching off.
	NotFoundTTL time.Duration

	// IsNotFound reports whether a load error means "does not exist" and
	// may be cached. Nil means kura.ErrorCode(err) == kura.ENOTFOUND.
	IsNotFound func(error) bool

	// NotFoundError rebuilds a cached not-found error read from Redis from
	// the message stored with it (an error's kura.ErrorMessage, or its
	// Error() if it is not a *kura.Error). Hits in the in-process tier
	// return the loader's own error value. Nil means a *kura.Error with
	// code kura.ENOTFOUND and that message.
	NotFoundError func(message string) error

	// RedisURL enables the Redis tier, for example redis://127.0.0.1:6379/0
	// (rediss:// for TLS). Empty means no Redis tier: the cache is
	// in-process only and Delete affects this process only. A standalone
	// Redis (or a primary) is expected, not a cluster.
	RedisURL string

	// Prefix starts every Redis key and channel of this cache. Give each
	// cache sharing a Redis its own prefix, such as "kura:user:". Zero
	// means DefaultPrefix ("cache:").
	Prefix string

	// RedisTimeout bounds each Redis command made on the read path, and
	// the dial, so that a slow or dead Redis costs little. Zero means
	// DefaultRedisTimeout (100ms).
	RedisTimeout time.Duration

	// InvalidationTimeout bounds how long Delete waits for every other
	// instance to confirm it dropped the keys. Zero means
	// DefaultInvalidationTimeout (1s).
	InvalidationTimeout time.Duration

	// LockTTL bounds how long the placeholder an instance writes into Redis
	// while it loads a key lives, should the instance die mid-load. Zero
	// means DefaultLockTTL (10s).
	LockTTL time.Duration

	// clock replaces the in-process tier's clock in tests.
	clock otter.Clock
	// stateHook, if set, is called with true each time the Redis tier comes
	// up (after the in-process tier was cleared) and false when it goes
	// down. Tests wait on it instead of sleeping.
	stateHook func(up bool)
}

// WithDefaults returns a copy of cfg with every zero field set to its
// default.
func (cfg Config) WithDefaults() Config {
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.NotFoundTTL == 0 {
		cfg.NotFoundTTL = DefaultNotFoundTTL
	}
	if cfg.IsNotFound == nil {
		cfg.IsNotFound = isKuraNotFound
	}
	if cfg.NotFoundError == nil {
		cfg.NotFoundError = kuraNotFound
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.RedisTimeout == 0 {
		cfg.RedisTimeout = DefaultRedisTimeout
	}
	if cfg.InvalidationTimeout == 0 {
		cfg.InvalidationTimeout = DefaultInvalidationTimeout
	}
	if cfg.LockTTL == 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	return cfg
}

// validate reports a configuration that cannot work, after WithDefaults.
func (cfg Config) validate() error {
	switch {
	case cfg.TTL < 0:
		return errors.New("cache: TTL must not be negative")
	case cfg.Size < 0:
		return errors.New("cache: Size must not be negative")
	case cfg.Jitter >= 1:
		return errors.New("cache: Jitter must be below 1")
	case cfg.RedisTimeout < 0 || cfg.InvalidationTimeout < 0 || cfg.LockTTL < 0:
		return errors.New("cache: timeouts must not be negative")
	}
	return nil
}

// jitter returns d spread uniformly over [d*(1-frac), d*(1+frac)); frac <= 0
// returns d unchanged.
func jitter(d time.Duration, frac float64) time.Duration {
	if frac <= 0 || d <= 0 {
		return d
	}
	f := 1 - frac + 2*frac*rand.Float64()
	return time.Duration(float64(d) * f)
}

func isKuraNotFound(err error) bool { return kura.ErrorCode(err) == kura.ENOTFOUND }

func kuraNotFound(message string) error { return &kura.Error{Code: kura.ENOTFOUND, Message: message} }

// notFoundMessage is what is stored in Redis for a not-found error.
func notFoundMessage(err error) string {
	var e *kura.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
