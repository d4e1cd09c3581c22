package kura

import "time"

// CacheInvalidation is a deletion of cache keys that Redis could not
// deliver to every instance, recorded in the database so that every
// instance applies it all the same (see cache/cached.Invalidations).
type CacheInvalidation struct {
	ID    int64
	Cache string    // the cache's Redis prefix, such as "kura:session:"
	Key   string    // the key within that cache
	At    time.Time // when it was recorded, by the recording instance's clock
}
