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
// For values where a stale read is a security decision (a session, a
// user's role), set Config.Strict: then no instance answers from a copy
// while it cannot be sure invalidations reach it. Each instance sends a
// heartbeat through Redis to its own subscription every Lease/4 (0.5s) and
// trusts its tiers for Lease/2 (1s) after sending one that came back. While
// that lease has lapsed, GetOrLoad calls the loader every time and touches
// neither tier (Trusted reports false, Ping ErrDegraded, Stats counts the
// reads as Untrusted); trust comes back after a heartbeat returns and the
// instance has dropped its in-process tier, applied its missed deletions,
// emptied the cache's keys in a Redis that restarted meanwhile (its run_id
// changed: a snapshot may hold values deleted after it was taken) and
// applied what Config.Fallback recorded. A Delete that not every instance
// confirmed returns only once Lease (2s) has passed since this instance
// lost Redis (or published the keys): by then every other instance has
// stopped trusting its copy, since it last renewed its lease before that
// moment and trusts for half the lease. What each failure costs a Strict
// cache, with the defaults:
//
//   - Redis killed, or a connection reset: instances stop trusting at once.
//     Nothing stale is served. Deletes in the first 2s after an instance
//     lost Redis wait out the rest of those 2s; later ones return at once.
//   - Redis hung (stopped, or a network that drops packets): instances stop
//     trusting within 1s of its last answer. Nothing stale is served after
//     a Delete returns: each Delete waits up to InvalidationTimeout (1s)
//     for Redis, plus the lease in the first seconds (at most 3s), until
//     the client gives the connection up (about 5s in), then returns at once.
//   - One instance cut off while the others reach Redis: it stops trusting
//     (at once, or within 1s); the others still trust their copies, and
//     Redis still holds the keys it could not delete. Only the Fallback
//     bounds this: each instance's Fallback delivers the recorded keys to
//     its caches (Forget deletes them in Redis and in process), within its
//     polling interval (kura's: 1s).
//   - Redis back after an outage, empty: as on reconnecting above; the tier
//     starts cold. Restored from a snapshot: instances that knew the Redis
//     before empty the cache's keys in it before trusting it; an instance
//     that never saw the previous Redis cannot tell, and trusts what the
//     snapshot holds, so run the cache's Redis without persistence.
//   - Redis slow: reads of Redis time out after RedisTimeout (100ms) and
//     go to the loader; the lease holds while heartbeats return within 1s
//     of being sent; a Delete waits InvalidationTimeout for confirmations,
//     then up to Lease from its publication.
//
// While the lease has lapsed, every read is a call of the loader, as if
// there were no cache, on every instance that lost Redis.
//
// # Metrics and health
//
// Stats returns the hit and miss counters of each tier, loads and errors,
// for a metrics endpoint; the package registers nothing globally. Ping fits
// kura.Pinger for a health check that reports the cache as degraded.
package cache
