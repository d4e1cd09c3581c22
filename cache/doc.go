// Package cache is a two-tier cache for any Go program: an in-process tier
// (otter: bounded by entry count, per-entry TTL) in front of an optional
// Redis tier (rueidis: cache-aside, shared by every instance of the
// program), kept coherent across instances on every Delete.
//
// # Getting started
//
// Make one Cache per kind of value, each with its own Redis key prefix:
//
//	users, err := cache.New[kura.User](cache.Config{
//		TTL:      300 * time.Second,        // CACHE_TTL
//		Size:     10_000,                   // CACHE_SIZE
//		RedisURL: os.Getenv("REDIS_URL"),   // empty: in-process only
//		Prefix:   "kura:user:",
//	}, nil) // nil codec: JSON
//	if err != nil { ... }
//	defer users.Close()
//
// Read through it with the function that loads a missing value:
//
//	u, err := users.GetOrLoad(ctx, strconv.Itoa(id), func(ctx context.Context) (kura.User, error) {
//		return db.FindUserByID(ctx, id)
//	})
//
// After every write of the underlying data, and before answering the
// write, delete what it changed:
//
//	err := users.Delete(ctx, strconv.Itoa(id))
//
// # What GetOrLoad does
//
// It looks in the in-process tier, then in Redis, then calls the loader.
// Concurrent misses of one key in a process share one load. A value loaded
// is stored in both tiers with the TTL spread by ±Jitter, so entries made
// together do not expire together. A not-found error from the loader
// (kura.ENOTFOUND by default) is cached for NotFoundTTL (5s) and returned
// again; other errors are not cached. Across instances, the first to miss
// writes a placeholder into Redis while it loads; an instance that finds
// the placeholder loads too (it does not wait) but does not store.
//
// # Coherence
//
// Delete removes the keys from Redis, then publishes them on the cache's
// invalidation channel and waits until every subscribed instance has
// dropped them from its in-process tier and confirmed it (Redis tells how
// many subscribers received the message). So once Delete returns nil, no
// instance serves the old value. Redis's client-side caching (tracking)
// was not used for this: its invalidation messages are sent to other
// clients when the key changes, but nothing tells the writer they were
// applied, so a read on another instance straight after the write could
// still see the old value.
//
// A load that began before a Delete is never served after it: every key
// has a generation, bumped by Delete here and on each confirmation
// elsewhere; an entry is served only under the generation its load began
// with, and callers after the Delete do not join a load in flight. In
// Redis, a load stores its value only if the key still holds its
// placeholder, which Delete removed.
//
// # When Redis is down
//
// Redis is never required. New does not wait for it; while it is
// unreachable, GetOrLoad answers from the in-process tier and the loader
// without touching the network, Healthy reports false and Ping returns
// ErrDegraded. Delete still drops the keys here, remembers to delete them
// in Redis later, and returns an error wrapping ErrDegraded: other
// instances keep their copies until Redis returns or their TTLs end. The
// subscription is retried with backoff; on reconnecting, an instance drops
// its whole in-process tier (it may have missed invalidations) and applies
// the deletions Redis missed before it reads from Redis again.
//
// # Metrics and health
//
// Stats returns the hit and miss counters of each tier, loads and errors,
// for a metrics endpoint; the package registers nothing globally. Ping fits
// kura.Pinger for a health check that reports the cache as degraded.
package cache
