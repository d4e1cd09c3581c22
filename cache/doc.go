// Package cache is a two-tier cache for any Go program: an in-process tier
// (otter: bounded by entry count, per-entry TTL) in front of an optional
// Redis tier (rueidis: cache-aside, shared by every instance of the
// program), kept coherent across instances on every Delete.
//
// It is generic: it knows nothing of kura's users or
// sessions, only that a not-found error is worth remembering (kura's
// ENOTFOUND by default, see Config.IsNotFound). kura's own decorators of its
// services live in package cache/cached.
//
// # Getting started
//
// Make one Cache per kind of value, each with its own Redis key prefix.
// The zero Config is an in-process cache with the defaults documented on
// each field; setting RedisURL adds the shared tier:
//
//	products, err := cache.New[Product](cache.Config{
//		TTL:      time.Minute,             // zero: DefaultTTL (300s)
//		RedisURL: os.Getenv("REDIS_URL"),  // empty: in-process only
//		Prefix:   "shop:product:",
//	}, nil) // nil codec: JSON
//	if err != nil {
//		return err
//	}
//	defer products.Close()
//
// Read through it with a function that loads a missing value. The loader
// returns the value itself, so a store method that returns a pointer is
// dereferenced:
//
//	p, err := products.GetOrLoad(ctx, strconv.Itoa(id), func(ctx context.Context) (Product, error) {
//		p, err := db.FindProduct(ctx, id) // (*Product, error)
//		if err != nil {
//			return Product{}, err
//		}
//		return *p, nil
//	})
//
// After every write of the underlying data, and before answering the
// write, delete what it changed:
//
//	if err := products.Delete(ctx, strconv.Itoa(id)); err != nil {
//		log.Warn("cache invalidation incomplete", "err", err) // the write stands
//	}
//
// Example runs these steps in process; Example_notFound shows a missing
// row remembered; Example_outsideKura teaches the cache another not-found
// error (sql.ErrNoRows); ExampleConfig_Validate checks a configuration the
// way New does; ExampleCache_Stats reads the counters.
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
