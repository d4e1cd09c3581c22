// Package cached serves kura's domain services through a cache.Cache: it
// holds decorators that implement kura.UserService, kura.SessionService
// and kura.StatsService by wrapping another implementation of the same
// interface (in kura, sqldb's) and answering its hot reads from a cache.
//
// Package cache is the generic two-tier cache and knows nothing of users or
// sessions; this package is where kura's rules for caching them live:
//
//   - UserService serves FindUserByID from a cache of users by id and
//     deletes a user's entry after every write of it (create, update,
//     delete), on every instance, before the write returns. Lists are not
//     cached.
//   - SessionService serves Authenticate from a cache of sessions keyed by
//     the token's digest, never the token. A cached session holds no user:
//     its user is read through the cached UserService, so a changed or
//     deleted user is seen at once. Expiry is checked on every hit;
//     Logout, and EndSessions (called by the store when a password change
//     ends sessions), delete the entries.
//   - StatsService computes the figures once per cache TTL however many
//     ask.
//
// An invalidation that cannot reach every instance (Redis down) does not
// fail the write that caused it: the write has committed, this instance has
// dropped its copy, and it is logged instead. The caches of users and
// sessions are Strict (cache.Config.Strict): while Redis cannot confirm
// invalidations, no instance answers from its copy (Authenticate asks the
// store in its one query), and the write answers only once every other
// instance has stopped trusting its copy. Invalidations holds what Redis
// could not deliver in the database, for an instance cut off from Redis
// while the others reach it: they drop the keys within a poll (1s).
//
// # Wiring
//
// cmd/kura (kura serve) builds one cache.Cache per kind of value, each under
// its own Redis prefix, and wraps the store's services, unless CACHE_TTL is
// zero:
//
//	inv := cached.NewInvalidations(db, cached.InvalidationsConfig{Retention: 2 * ttl, Logger: logger})
//	userCache, err := cache.New[kura.User](cache.Config{TTL: ttl, RedisURL: redisURL, Prefix: "kura:user:", Strict: true, Fallback: inv}, nil)
//	...
//	sessionCache, err := cache.New[kura.Session](cache.Config{TTL: ttl, RedisURL: redisURL, Prefix: "kura:session:", Strict: true, Fallback: inv}, nil)
//	...
//	inv.Register("kura:user:", userCache)
//	inv.Register("kura:session:", sessionCache)
//	inv.Start() // and inv.Close() before closing the caches
//	users := cached.NewUserService(sqlUsers, userCache, logger)
//	sessions := cached.NewSessionService(sqlSessions, users, sessionCache, logger)
//	sqlUsers.OnSessionsEnded = sessions.EndSessions
//
// The session decorator takes the cached UserService, not the store's, so
// that a session's user is always as fresh as the user cache. Unless
// STATS_CACHE_TTL is zero, the figures go through a cache of their own:
// cached.NewStatsService(store.NewStatsService(db), statsCache). Example_users
// shows the user decorator at work on an in-memory store.
package cached
