package cache

import "context"

// Fallback carries the deletions Redis could not confirm to every instance
// through a store every instance shares, such as the application's
// database, so that an instance cut off from Redis while the others reach
// it cannot leave their copies stale. Package cache knows no database: an
// application implements Fallback (kura's is cache/cached.Invalidations on
// its own database) and delivers what is recorded to each running instance
// by calling Forget on its caches, polling about once a second.
type Fallback interface {
	// Record stores keys of the cache whose Config.Prefix is prefix, which
	// this instance deleted without every instance confirming it. Delete
	// calls it before it returns.
	Record(ctx context.Context, prefix string, keys []string) error

	// Recent returns the keys recorded for prefix that some tier of some
	// instance may still hold: those recorded within the longest TTL of
	// the cache and a margin. A Strict cache deletes them in Redis and
	// drops them here before it trusts its tiers again.
	Recent(ctx context.Context, prefix string) ([]string, error)
}
