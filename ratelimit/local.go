package ratelimit

import (
	"cmp"
	"context"
	"slices"
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
	// it, idle keys are forgotten first, then those nearest to idle.
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
func (c *Local) Allow(ctx context.Context, key string, l Limit) (bool, time.Duration) {
	return c.Reserve(ctx, key, l, 0)
}

// Reserve takes one event from key's bucket under l whose slot lies at
// most maxWait ahead, or returns the wait until the next slot.
func (c *Local) Reserve(_ context.Context, key string, l Limit, maxWait time.Duration) (bool, time.Duration) {
	if l.Off() {
		return true, 0
	}
	now := c.now()
	r := c.bucket(key, l, now).ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d > maxWait {
		r.CancelAt(now) // hand the token back: a refused event takes nothing
		return false, d
	}
	return true, d
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

// sweep forgets the keys whose bucket is full again. While that leaves
// MaxKeys or more, it forgets, down to nine tenths of MaxKeys, the keys
// nearest to full: a flood of new keys (one event each, from many
// addresses) then pushes out its own kind, not the spent buckets whose
// forgetting would lift a limit. Called with mu held.
func (c *Local) sweep(now time.Time) {
	c.lastSweep = now
	for k, b := range c.buckets {
		if b.TokensAt(now) >= float64(k.l.Events) {
			delete(c.buckets, k)
		}
	}
	if len(c.buckets) < c.maxKeys {
		return
	}
	type entry struct {
		k      bucketKey
		toFull float64 // nanoseconds until the bucket is full
	}
	all := make([]entry, 0, len(c.buckets))
	for k, b := range c.buckets {
		missing := float64(k.l.Events) - b.TokensAt(now)
		all = append(all, entry{k, missing * float64(k.l.Interval())})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.toFull, b.toFull) })
	for _, e := range all[:len(all)-c.maxKeys*9/10] {
		delete(c.buckets, e.k)
	}
}
