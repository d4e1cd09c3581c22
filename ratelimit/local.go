package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds the keys a Local limiter keeps (about 200 bytes
// each), when LocalConfig.MaxKeys is zero.
const DefaultMaxKeys = 100_000

// sweepEvery is how often, by its clock, a Local forgets idle keys.
const sweepEvery = time.Minute

// LocalConfig configures a Local limiter.
type LocalConfig struct {
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
	// MaxKeys bounds the keys kept; zero means DefaultMaxKeys. Beyond
	// it, idle keys are forgotten first, then any.
	MaxKeys int
}

// Local is a Limiter in one process: a token bucket
// (golang.org/x/time/rate) per key and limit. Memory is bounded: once a
// minute it forgets the keys whose bucket has refilled (an idle key, whose
// forgetting changes nothing), and it never keeps more than MaxKeys.
type Local struct {
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	buckets   map[bucketKey]*rate.Limiter
	lastSweep time.Time
}

type bucketKey struct {
	l   Limit
	key string
}

var _ Limiter = (*Local)(nil)

// NewLocal returns an empty Local limiter.
func NewLocal(cfg LocalConfig) *Local {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	return &Local{now: cfg.Now, maxKeys: cfg.MaxKeys, buckets: map[bucketKey]*rate.Limiter{}}
}

// Allow takes one event from key's bucket under l, or returns the wait.
func (c *Local) Allow(_ context.Context, key string, l Limit) (bool, time.Duration) {
	if l.Off() {
		return true, 0
	}
	now := c.now()
	r := c.bucket(key, l, now).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // hand the token back: a refused event takes nothing
		return false, d
	}
	return true, 0
}

// Delay returns how long until key's bucket under l holds an event.
func (c *Local) Delay(_ context.Context, key string, l Limit) time.Duration {
	if l.Off() {
		return 0
	}
	c.mu.Lock()
	b := c.buckets[bucketKey{l, key}]
	c.mu.Unlock()
	if b == nil {
		return 0
	}
	now := c.now()
	if tokens := b.TokensAt(now); tokens < 1 {
		return time.Duration((1 - tokens) * float64(l.Interval()))
	}
	return 0
}

// Len returns the number of keys kept.
func (c *Local) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buckets)
}

// bucket returns the bucket of key under l, made full when new.
func (c *Local) bucket(key string, l Limit, now time.Time) *rate.Limiter {
	k := bucketKey{l, key}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.buckets[k]; b != nil {
		return b
	}
	if now.Sub(c.lastSweep) >= sweepEvery || len(c.buckets) >= c.maxKeys {
		c.sweep(now)
	}
	b := rate.NewLimiter(rate.Every(l.Interval()), l.Events)
	c.buckets[k] = b
	return b
}

// sweep forgets the keys whose bucket is full again, then, while too
// many are left, any. Called with mu held.
func (c *Local) sweep(now time.Time) {
	c.lastSweep = now
	for k, b := range c.buckets {
		if b.TokensAt(now) >= float64(k.l.Events) {
			delete(c.buckets, k)
		}
	}
	for k := range c.buckets {
		if len(c.buckets) < c.maxKeys {
			break
		}
		delete(c.buckets, k)
	}
}
