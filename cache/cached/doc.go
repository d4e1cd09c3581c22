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
// dropped its copy, and the others drop everything when Redis returns. It is
// logged instead.
//
// # Wiring
//
// cmd/kura (kura serve) builds one cache.Cache per kind of value, each under
// its own Redis prefix, and wraps the store's services, unless CACHE_TTL is
// zero:
//
//	userCache, err := cache.New[kura.User](cache.Config{TTL: ttl, RedisURL: redisURL, Prefix: "kura:user:"}, nil)
//	...
//	sessionCache, err := cache.New[kura.Session](cache.Config{TTL: ttl, RedisURL: redisURL, Prefix: "kura:session:"}, nil)
//	...
//	users := cached.NewUserService(sqlUsers, userCache, logger)
//	sessions := cached.NewSessionService(sqlSessions, users, sessionCache, logger)
//	sqlUsers.OnSessionsEnded = sessions.EndSessions
//
// The session decorator takes the cached UserService, not the store's, so
// that a session's user is always as fresh as the user cache. Unless
// STATS_CACHE_TTL is zero, the figures go through a cache of their own:
// cached.NewStatsService(sqldb.NewStatsService(db), statsCache). Example_users
// shows the user decorator at work on an in-memory store.
package cached
