package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
	"golang.org/x/sync/singleflight"
)

// genSlots is the number of per-key generation counters. Keys share a
// counter when their hashes collide, which costs at most a spurious miss.
const genSlots = 1 << 12

// Cache is a two-tier cache of values of type V under string keys: an
// in-process tier and, when Config.RedisURL is set, a Redis tier shared by
// every instance. It is safe for concurrent use. Values returned are
// shared with other callers and must be treated as read-only.
type Cache[V any] struct {
	cfg    Config
	codec  Codec[V]
	local  *otter.Cache[string, entry[V]]
	flight singleflight.Group
	seed   maphash.Seed
	redis  *redisTier // nil without a Redis tier
	strict *redisTier // the Redis tier of a Strict cache, else nil

	// epoch changes when the whole in-process tier is invalidated (on
	// reconnecting to Redis); gens[slot] when a key of that slot is
	// deleted. An entry is served only while both match what they were when
	// its load began: that is how a load racing a Delete is never served.
	epoch atomic.Uint64
	gens  [genSlots]atomic.Uint64

	stats     counters
	closeOnce sync.Once
}

// stamp is the epoch and key generation a load began under.
type stamp struct{ epoch, gen uint64 }

// entry is what the in-process tier holds: a value or a cached not-found
// error, the stamp it was loaded under, and its jittered TTL.
type entry[V any] struct {
	val   V
	err   error
	stamp stamp
	ttl   time.Duration
}

// New returns a Cache configured by cfg (see Config for the defaults).
// A nil codec means JSON. When cfg.RedisURL is set, New does not wait for
// Redis: if it is unreachable the cache starts degraded (see Healthy) and
// connects in the background. Close releases the cache.
func New[V any](cfg Config, codec Codec[V]) (*Cache[V], error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if codec == nil {
		codec = JSON[V]()
	}
	c := &Cache[V]{cfg: cfg, codec: codec, seed: maphash.MakeSeed()}
	c.stats.localHits = *stats.NewCounter()
	local, err := otter.New(&otter.Options[string, entry[V]]{
		MaximumSize: cfg.Size,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, entry[V]]) time.Duration {
			return e.Value.ttl
		}),
		Clock: cfg.clock,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: in-process tier: %w", err)
	}
	c.local = local
	if cfg.RedisURL != "" {
		c.redis, err = openRedis(cfg, &c.stats, c.invalidateLocal, c.resetLocal)
		if err != nil {
			local.StopAllGoroutines()
			return nil, err
		}
		if cfg.Strict {
			c.strict = c.redis
		}
	}
	return c, nil
}

// GetOrLoad returns the value cached under key, looking in the in-process
// tier, then in Redis, and calling load on a miss in both. Concurrent
// misses for one key in this process share one call of load, which runs
// with ctx's values but without its cancellation, so that one caller giving
// up does not fail the others; each caller still returns when its own ctx
// ends. A not-found error from load (Config.IsNotFound) is cached for
// Config.NotFoundTTL and returned again on hits; any other error is
// returned and not cached. Redis errors are counted and never returned:
// the cache falls back to load. A Strict cache whose lease has lapsed
// calls load every time and returns what it returns, touching neither tier.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, load func(ctx context.Context) (V, error)) (V, error) {
	if c.strict != nil && !c.strict.trusted.Load() {
		c.stats.untrusted.Add(1)
		return load(ctx)
	}
	st := c.stampOf(key)
	if e, ok := c.local.GetIfPresent(key); ok && e.stamp == st {
		c.stats.localHits.RecordHits(1)
		return e.val, e.err
	}
	c.stats.localMisses.Add(1)
	ch := c.flight.DoChan(key+"\x00"+strconv.FormatUint(st.epoch, 36)+"."+strconv.FormatUint(st.gen, 36), func() (any, error) {
		// A caller that missed just before another's load finished and
		// left the group starts a group of its own: look again before
		// loading a second time.
		if e, ok := c.local.GetIfPresent(key); ok && e.stamp == st {
			return &e, nil
		}
		e := c.fill(context.WithoutCancel(ctx), key, st, load)
		return e, nil
	})
	select {
	case r := <-ch:
		e := r.Val.(*entry[V])
		return e.val, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// fill answers a miss of the in-process tier from Redis or from load, and
// stores what it got in the tiers it may.
func (c *Cache[V]) fill(ctx context.Context, key string, st stamp, load func(context.Context) (V, error)) *entry[V] {
	var lock string
	if c.redis != nil && c.redis.up.Load() && (c.strict == nil || c.strict.trusted.Load()) {
		raw, token, err := c.redis.getOrLock(ctx, c.cfg.Prefix+key)
		if err == nil && raw != nil {
			if e, ok := c.decode(raw); ok {
				c.stats.redisHits.Add(1)
				return c.keep(key, st, e)
			}
		}
		if err == nil {
			c.stats.redisMisses.Add(1)
		}
		lock = token
	}
	c.stats.loads.Add(1)
	v, err := load(ctx)
	if err != nil && (c.cfg.NotFoundTTL < 0 || !c.cfg.IsNotFound(err)) {
		c.stats.loadErrors.Add(1)
		if lock != "" {
			c.redis.unlock(ctx, c.cfg.Prefix+key, lock)
		}
		return &entry[V]{val: v, err: err}
	}
	ttl := c.cfg.TTL
	if err != nil {
		ttl = c.cfg.NotFoundTTL
	}
	e := &entry[V]{val: v, err: err, ttl: jitter(ttl, c.cfg.Jitter)}
	if lock != "" {
		if raw, ok := c.encode(e); ok { // each tier jittered on its own
			c.redis.store(ctx, c.cfg.Prefix+key, lock, raw, jitter(ttl, c.cfg.Jitter))
		} else {
			c.redis.unlock(ctx, c.cfg.Prefix+key, lock)
		}
	}
	return c.keep(key, st, e)
}

// keep stores e in the in-process tier under the stamp its load began with.
// Should a Delete have run since, the stamp no longer matches and the entry
// is never served.
func (c *Cache[V]) keep(key string, st stamp, e *entry[V]) *entry[V] {
	e.stamp = st
	if e.ttl <= 0 {
		e.ttl = jitter(c.cfg.TTL, c.cfg.Jitter)
	}
	if c.stampOf(key) == st { // else stale already: keep a newer entry
		c.local.Set(key, *e)
	}
	return e
}

// Delete removes keys from both tiers. With a Redis tier it returns only
// once the keys are gone from Redis and every other instance subscribed to
// this cache's channel confirmed it dropped them from its in-process tier.
// If that cannot be done (Redis down, or an instance not answering within
// Config.InvalidationTimeout), the keys are still dropped here, deletions
// Redis missed are retried on reconnect, the keys are recorded in
// Config.Fallback if set, and the error wraps ErrDegraded. A Strict cache
// then returns only once Config.Lease has passed since this instance lost
// Redis (or published the keys), when every other instance has stopped
// trusting its copy, or when ctx ends: only the Deletes of an outage's
// first Lease wait, and none waits longer than Lease beyond its own
// attempt.
func (c *Cache[V]) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	var err error
	var lost int64
	if c.redis != nil {
		lost, err = c.redis.invalidate(ctx, keys)
		if err != nil {
			c.stats.failedInvalidations.Add(uint64(len(keys)))
		}
	}
	// After Redis: a load that read Redis before the DEL began under the
	// old generation, so bumping now makes its result unservable.
	c.invalidateLocal(keys)
	if err != nil {
		if fb := c.cfg.Fallback; fb != nil {
			if ferr := fb.Record(ctx, c.cfg.Prefix, keys); ferr != nil {
				err = fmt.Errorf("%w; not recorded in the fallback either: %w", err, ferr)
			}
		}
		if c.strict != nil {
			c.strict.waitOut(ctx, lost)
		}
	}
	return err
}

// Forget drops keys that another instance deleted but could not have every
// instance confirm, as found in Config.Fallback: it deletes them in Redis,
// then drops them from the in-process tier, without publishing or waiting
// for anyone. Deletions Redis misses are retried on reconnect. An
// application's Fallback calls it on every instance.
func (c *Cache[V]) Forget(ctx context.Context, keys ...string) {
	if len(keys) == 0 {
		return
	}
	if c.redis != nil && c.redis.up.Load() {
		c.redis.forget(ctx, keys)
		return
	}
	if c.redis != nil {
		c.redis.keepPending(keys)
	}
	c.invalidateLocal(keys)
}

// invalidateLocal drops keys from the in-process tier and from any load in
// flight for them.
func (c *Cache[V]) invalidateLocal(keys []string) {
	for _, k := range keys {
		c.gens[c.slot(k)].Add(1)
		c.local.Invalidate(k)
	}
	c.stats.invalidations.Add(uint64(len(keys)))
}

// resetLocal drops the whole in-process tier and every load in flight.
func (c *Cache[V]) resetLocal() {
	c.epoch.Add(1)
	c.local.InvalidateAll()
	c.stats.resets.Add(1)
}

func (c *Cache[V]) slot(key string) uint64 { return maphash.String(c.seed, key) % genSlots }

func (c *Cache[V]) stampOf(key string) stamp {
	return stamp{epoch: c.epoch.Load(), gen: c.gens[c.slot(key)].Load()}
}

// Healthy reports whether the cache works as configured: true without a
// Redis tier, and with one while it is connected and subscribed to
// invalidations. A false value means degraded, not down: GetOrLoad still
// answers from the in-process tier and the loader.
func (c *Cache[V]) Healthy() bool { return c.redis == nil || c.redis.up.Load() }

// Trusted reports whether GetOrLoad uses the tiers: always, except for a
// Strict cache with a Redis tier, whose tiers are trusted only while its
// lease runs (see Config.Strict).
func (c *Cache[V]) Trusted() bool { return c.strict == nil || c.strict.trusted.Load() }

// Ping checks the Redis tier for a health endpoint: nil without one,
// ErrDegraded while it is not subscribed to invalidations, or the error of
// a PING. The cache keeps working either way.
func (c *Cache[V]) Ping(ctx context.Context) error {
	if c.redis == nil {
		return nil
	}
	return c.redis.ping(ctx)
}

// Close stops the Redis tier's background work, closes its connections and
// stops the in-process tier's goroutine. The cache must not be used after;
// closing it again does nothing.
func (c *Cache[V]) Close() {
	c.closeOnce.Do(func() {
		if c.redis != nil {
			c.redis.close()
		}
		c.local.StopAllGoroutines()
	})
}

// ErrDegraded is wrapped by errors of Delete and Ping when the Redis tier
// is configured but cannot be relied on: other instances may keep their
// copies until Redis returns or their TTLs end.
var ErrDegraded = errors.New("cache: redis tier degraded")
