package cache

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/rueidis"

	"github.com/kura-dev/kura/internal/credurl"
)

// Defaults filled by Config.WithDefaults into zero fields.
const (
	DefaultTTL                 = 300 * time.Second
	DefaultSize                = 10_000
	DefaultJitter              = 0.1
	DefaultNotFoundTTL         = 5 * time.Second
	DefaultPrefix              = "cache:"
	DefaultRedisTimeout        = 100 * time.Millisecond
	DefaultInvalidationTimeout = time.Second
	DefaultLockTTL             = 10 * time.Second
	DefaultLease               = 2 * time.Second
)

// Config configures a Cache. The zero value is a usable in-process cache;
// setting RedisURL adds the Redis tier. Every field's zero value means its
// default, filled in by WithDefaults; Validate reports a field that cannot
// work. New does both. An application maps CACHE_TTL onto TTL, CACHE_SIZE
// onto Size and REDIS_URL onto RedisURL.
type Config struct {
	// TTL is how long a loaded value lives in each tier, before jitter.
	// Zero means DefaultTTL (300s); it must not be negative.
	TTL time.Duration

	// Size is the most entries the in-process tier holds; the least
	// valuable are evicted beyond it. Zero means DefaultSize (10,000); it
	// must not be negative.
	Size int

	// Jitter spreads every TTL uniformly over ±Jitter of its length, so
	// entries made together do not expire together. Zero means
	// DefaultJitter (0.1, that is ±10%); a negative value turns jitter off;
	// it must be below 1.
	Jitter float64

	// NotFoundTTL is how long a load that failed with a not-found error
	// (see IsNotFound) is remembered, before jitter. Zero means
	// DefaultNotFoundTTL (5s); a negative value turns negative caching off.
	NotFoundTTL time.Duration

	// IsNotFound reports whether a load error means "does not exist" and
	// may be cached. Nil means kura's not-found test:
	// kura.ErrorCode(err) == kura.ENOTFOUND.
	IsNotFound func(error) bool

	// NotFoundError rebuilds a cached not-found error read from Redis from
	// the message stored with it (an error's kura.ErrorMessage, or its
	// Error() if it is not a *kura.Error). Hits in the in-process tier
	// return the loader's own error value. Nil means a *kura.Error with
	// code kura.ENOTFOUND and that message.
	NotFoundError func(message string) error

	// RedisURL enables the Redis tier, for example redis://127.0.0.1:6379/0
	// (rediss:// for TLS, unix:// for a socket). Empty, the default, means
	// no Redis tier: the cache is in-process only and Delete affects this
	// process only. A standalone Redis (or a primary) is expected, not a
	// cluster.
	RedisURL string

	// Prefix starts every Redis key and channel of this cache. Give each
	// cache sharing a Redis its own prefix, such as "kura:user:". Empty
	// means DefaultPrefix ("cache:").
	Prefix string

	// RedisTimeout bounds each Redis command made on the read path, and
	// the dial, so that a slow or dead Redis costs little. Zero means
	// DefaultRedisTimeout (100ms); it must not be negative.
	RedisTimeout time.Duration

	// InvalidationTimeout bounds how long Delete waits for every other
	// instance to confirm it dropped the keys. Zero means
	// DefaultInvalidationTimeout (1s); it must not be negative.
	InvalidationTimeout time.Duration

	// LockTTL bounds how long the placeholder an instance writes into Redis
	// while it loads a key lives, should the instance die mid-load. Zero
	// means DefaultLockTTL (10s); it must not be negative.
	LockTTL time.Duration

	// Strict makes the cache trust its copies only while it knows that
	// invalidations reach it, for values where a stale read is a security
	// decision (a session's validity, a user's role). With a Redis tier, the
	// instance sends a heartbeat through Redis to its own subscription every
	// Lease/4 and trusts both tiers for Lease/2 after sending one that came
	// back; while that lease has lapsed (Redis killed, hung or cut off),
	// GetOrLoad calls the loader every time and uses neither tier, and it
	// trusts them again only after dropping its in-process tier, applying
	// the deletions Redis missed and those recorded in Fallback. A Delete
	// that not every instance confirmed waits, before it returns, until
	// Lease has passed since this instance lost Redis, so that every other
	// instance has by then stopped trusting its copy. False, the default,
	// serves the in-process tier while Redis is down, as the package
	// describes. Without a Redis tier Strict changes nothing.
	Strict bool

	// Lease is how long after losing Redis a Strict cache's Delete waits
	// for other instances to stop trusting their copies (see Strict); an
	// instance itself stops trusting them at most Lease/2 after Redis
	// stopped answering. Zero means DefaultLease (2s); it must not be
	// negative. Every instance sharing the cache must use the same Lease.
	Lease time.Duration

	// Fallback, if set, is a second path for the deletions that Redis could
	// not confirm to every instance, through a store every instance shares
	// (see Fallback). Nil means none: an instance cut off from Redis while
	// the others reach it leaves their copies (and Redis's) stale until
	// their TTL ends or the instance reconnects; and after Redis stopped
	// and resumed (the same run, so nothing tells its copies apart), a
	// key whose deletion it missed can be read from Redis by an instance
	// that trusts it again before the deleting instance has reconnected
	// and deleted it there (kura serve sets the database as Fallback).
	Fallback Fallback

	// clock replaces the in-process tier's clock in tests.
	clock otter.Clock
	// stateHook, if set, is called with true each time the Redis tier comes
	// up (after the in-process tier was cleared) and false when it goes
	// down. Tests wait on it instead of sleeping.
	stateHook func(up bool)
	// trustHook, if set, is called with true each time a Strict cache
	// trusts its tiers again and false when its lease lapses.
	trustHook func(trusted bool)
}

// WithDefaults returns a copy of c with every zero field set to its
// default, as documented on each field. It is the one place defaults are
// filled; fields already set are kept, valid or not.
func (c Config) WithDefaults() Config {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Jitter == 0 {
		c.Jitter = DefaultJitter
	}
	if c.NotFoundTTL == 0 {
		c.NotFoundTTL = DefaultNotFoundTTL
	}
	if c.IsNotFound == nil {
		c.IsNotFound = isKuraNotFound
	}
	if c.NotFoundError == nil {
		c.NotFoundError = kuraNotFound
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.RedisTimeout == 0 {
		c.RedisTimeout = DefaultRedisTimeout
	}
	if c.InvalidationTimeout == 0 {
		c.InvalidationTimeout = DefaultInvalidationTimeout
	}
	if c.LockTTL == 0 {
		c.LockTTL = DefaultLockTTL
	}
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	return c
}

// Validate reports the first field of c that cannot work, naming it and
// the form it expects. Zero fields are valid (they mean the defaults), so
// Validate may be called before or after WithDefaults. An error never
// contains RedisURL, which may hold a password.
func (c Config) Validate() error {
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"TTL", c.TTL}, {"RedisTimeout", c.RedisTimeout}, {"InvalidationTimeout", c.InvalidationTimeout}, {"LockTTL", c.LockTTL}, {"Lease", c.Lease}} {
		if d.d < 0 {
			return fmt.Errorf("cache: %s must be a positive duration, or zero for the default; got %v", d.name, d.d)
		}
	}
	if c.Size < 0 {
		return fmt.Errorf("cache: Size must be a positive number of entries, or zero for the default; got %d", c.Size)
	}
	if !(c.Jitter < 1) {
		return fmt.Errorf("cache: Jitter must be a fraction below 1 (0.1 is ±10%%), negative for none, or zero for the default; got %v", c.Jitter)
	}
	if c.RedisURL != "" {
		if err := credurl.Check(c.RedisURL); err != nil {
			return fmt.Errorf("cache: RedisURL: %w", err)
		}
		if _, err := rueidis.ParseURL(c.RedisURL); err != nil {
			return errors.New("cache: RedisURL must be a redis://, rediss:// or unix:// URL, such as redis://127.0.0.1:6379/0")
		}
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
