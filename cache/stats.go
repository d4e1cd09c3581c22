package cache

import (
	"sync/atomic"

	"github.com/maypok86/otter/v2/stats"
)

// Stats is a snapshot of a Cache's counters since New, for a metrics
// endpoint. Counters only grow.
type Stats struct {
	LocalHits   uint64 // answered by the in-process tier
	LocalMisses uint64 // not in the in-process tier (or invalidated)
	RedisHits   uint64 // answered by Redis after a local miss
	RedisMisses uint64 // looked up in Redis and not found there
	Loads       uint64 // calls of a loader
	LoadErrors  uint64 // loader errors that were not cached (not not-found)
	RedisErrors uint64 // Redis commands that failed or timed out
	// Invalidations counts keys dropped from the in-process tier by Delete
	// here or on another instance.
	Invalidations uint64
	// FailedInvalidations counts keys of this instance's Deletes that
	// returned ErrDegraded: Redis, or another instance, did not confirm
	// them (dropped here all the same; see Delete).
	FailedInvalidations uint64
	// Resets counts times the whole in-process tier was dropped because
	// Redis came back after invalidations may have been missed.
	Resets uint64
	// Untrusted counts reads of a Strict cache answered by the loader
	// alone, both tiers skipped, because its lease had lapsed.
	Untrusted uint64
	// Entries is the approximate number of entries in the in-process tier.
	Entries int
	// RedisUp reports whether the Redis tier is connected and subscribed;
	// false without a Redis tier.
	RedisUp bool
	// Degraded reports a Redis tier that is not connected and subscribed
	// (Healthy is false); false without a Redis tier.
	Degraded bool
	// Trusted reports whether reads use the tiers (see Cache.Trusted).
	Trusted bool
}

type counters struct {
	localHits                           stats.Counter // striped: the hot path
	localMisses, redisHits, redisMisses atomic.Uint64
	loads, loadErrors, redisErrors      atomic.Uint64
	invalidations, resets               atomic.Uint64
	failedInvalidations, untrusted      atomic.Uint64
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache[V]) Stats() Stats {
	s := &c.stats
	return Stats{
		LocalHits:     s.localHits.Snapshot().Hits,
		LocalMisses:   s.localMisses.Load(),
		RedisHits:     s.redisHits.Load(),
		RedisMisses:   s.redisMisses.Load(),
		Loads:         s.loads.Load(),
		LoadErrors:    s.loadErrors.Load(),
		RedisErrors:   s.redisErrors.Load(),
		Invalidations: s.invalidations.Load(),
		Resets:        s.resets.Load(),
		Untrusted:     s.untrusted.Load(),
		Entries:       c.local.EstimatedSize(),
		RedisUp:       c.redis != nil && c.redis.up.Load(),
		Degraded:      !c.Healthy(),
		Trusted:       c.Trusted(),

		FailedInvalidations: s.failedInvalidations.Load(),
	}
}

// Redis values carry a one-byte tag: a value, a cached not-found, or the
// placeholder of an instance that is loading the key.
const (
	tagValue    = 'v'
	tagNotFound = 'n'
	tagLock     = 'l'
)

// encode returns the Redis form of e, or false if the codec fails.
func (c *Cache[V]) encode(e *entry[V]) ([]byte, bool) {
	if e.err != nil {
		return append([]byte{tagNotFound}, notFoundMessage(e.err)...), true
	}
	b, err := c.codec.Marshal(e.val)
	if err != nil {
		return nil, false
	}
	return append([]byte{tagValue}, b...), true
}

// decode returns the entry stored in Redis as raw, or false for a
// placeholder or bytes the codec rejects.
func (c *Cache[V]) decode(raw []byte) (*entry[V], bool) {
	if len(raw) == 0 {
		return nil, false
	}
	switch raw[0] {
	case tagValue:
		v, err := c.codec.Unmarshal(raw[1:])
		if err != nil {
			return nil, false
		}
		return &entry[V]{val: v}, true
	case tagNotFound:
		return &entry[V]{err: c.cfg.NotFoundError(string(raw[1:])), ttl: jitter(c.cfg.NotFoundTTL, c.cfg.Jitter)}, true
	}
	return nil, false
}
