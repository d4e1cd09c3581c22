package cached

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

// Defaults of InvalidationsConfig.
const (
	DefaultPollInterval = time.Second
	DefaultRetention    = 2 * cache.DefaultTTL
)

// pollOverlap is how far before its previous look each poll reads again:
// rows are stamped by the recording instance's clock, so this covers a
// skew between hosts' clocks and a row committed after a poll began. Rows
// seen already are skipped by id.
const pollOverlap = time.Minute

// pruneEvery is how many polls pass between two prunings of old rows.
const pruneEvery = 60

// InvalidationStore is where Invalidations records what Redis could not
// deliver; *sqldb.DB implements it on kura's table cache_invalidations.
type InvalidationStore interface {
	// RecordCacheInvalidations records keys of the cache named cache.
	RecordCacheInvalidations(ctx context.Context, cache string, keys []string) error
	// CacheInvalidationsSince returns those recorded at or after since.
	CacheInvalidationsSince(ctx context.Context, since time.Time) ([]kura.CacheInvalidation, error)
	// PruneCacheInvalidations deletes those recorded before before.
	PruneCacheInvalidations(ctx context.Context, before time.Time) error
}

// Forgetter is a cache Invalidations delivers to: every *cache.Cache[V].
type Forgetter interface {
	Forget(ctx context.Context, keys ...string)
}

var _ Forgetter = (*cache.Cache[kura.User])(nil)

// InvalidationsConfig configures Invalidations.
type InvalidationsConfig struct {
	// PollInterval is how often each instance reads the invalidations
	// recorded since its last look: the bound on how long an instance cut
	// off from Redis can leave another instance's copy stale. Zero means
	// DefaultPollInterval (1s).
	PollInterval time.Duration

	// Retention is how long a recorded invalidation is kept and applied to
	// a cache that trusts Redis again (see cache.Fallback.Recent): at
	// least the longest TTL of the caches, plus its jitter. Zero means
	// DefaultRetention (600s, twice cache.DefaultTTL).
	Retention time.Duration

	// Logger reports a store that cannot be read, once per outage. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// Invalidations is kura's cache.Fallback: deletions of cache keys that
// Redis could not deliver to every instance are recorded in the database
// every instance shares, and every instance polls it once per
// PollInterval (one indexed query, whatever the number of caches) and
// makes its caches forget the keys recorded, in Redis and in process. So
// an instance cut off from Redis while the others reach it cannot leave
// their copies stale for longer than about PollInterval.
//
// Give it to the caches' Config.Fallback, Register each cache under its
// prefix, then Start; Close before closing the caches.
type Invalidations struct {
	store InvalidationStore
	cfg   InvalidationsConfig

	mu     sync.Mutex
	caches map[string][]Forgetter // by Redis prefix

	// Owned by the polling goroutine.
	last    time.Time
	seen    map[int64]time.Time // ids applied, kept while within the overlap
	failing bool
	polls   int

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ cache.Fallback = (*Invalidations)(nil)

// NewInvalidations returns Invalidations on store, not yet polling.
func NewInvalidations(store InvalidationStore, cfg InvalidationsConfig) *Invalidations {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Invalidations{store: store, cfg: cfg, caches: map[string][]Forgetter{}, seen: map[int64]time.Time{}}
}

// Register delivers the invalidations recorded under prefix (the cache's
// Config.Prefix) to c.
func (iv *Invalidations) Register(prefix string, c Forgetter) {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	iv.caches[prefix] = append(iv.caches[prefix], c)
}

// Start polls in the background until Close. Invalidations recorded
// before Start, beyond the overlap of a poll, are not delivered: a cache
// made now holds nothing older.
func (iv *Invalidations) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	iv.cancel = cancel
	iv.last = time.Now()
	iv.wg.Go(func() {
		t := time.NewTicker(iv.cfg.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				iv.poll(ctx)
			}
		}
	})
}

// Close stops polling and waits for a poll under way.
func (iv *Invalidations) Close() {
	if iv.cancel != nil {
		iv.cancel()
		iv.wg.Wait()
	}
}

// Record implements cache.Fallback.
func (iv *Invalidations) Record(ctx context.Context, prefix string, keys []string) error {
	return iv.store.RecordCacheInvalidations(ctx, prefix, keys)
}

// Recent implements cache.Fallback: the keys recorded for prefix within
// Retention.
func (iv *Invalidations) Recent(ctx context.Context, prefix string) ([]string, error) {
	rows, err := iv.store.CacheInvalidationsSince(ctx, time.Now().Add(-iv.cfg.Retention))
	if err != nil {
		return nil, err
	}
	var keys []string
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Cache == prefix && !seen[r.Key] {
			seen[r.Key] = true
			keys = append(keys, r.Key)
		}
	}
	return keys, nil
}

// poll delivers the invalidations recorded since the last look, and now
// and then deletes those older than Retention.
func (iv *Invalidations) poll(ctx context.Context) {
	now := time.Now()
	since := iv.last.Add(-pollOverlap)
	rows, err := iv.store.CacheInvalidationsSince(ctx, since)
	if err != nil {
		if !iv.failing && ctx.Err() == nil {
			iv.cfg.Logger.Warn("cache invalidations: cannot read the database; an instance cut off from Redis may leave this one's cache stale", "err", err)
		}
		iv.failing = true
		return
	}
	if iv.failing {
		iv.cfg.Logger.Info("cache invalidations: the database is read again")
		iv.failing = false
	}
	iv.last = now
	byCache := map[string][]string{}
	for _, r := range rows {
		if _, done := iv.seen[r.ID]; !done {
			iv.seen[r.ID] = r.At
			byCache[r.Cache] = append(byCache[r.Cache], r.Key)
		}
	}
	for id, at := range iv.seen {
		if at.Before(since) {
			delete(iv.seen, id)
		}
	}
	iv.mu.Lock()
	targets := make(map[string][]Forgetter, len(byCache))
	for prefix := range byCache {
		targets[prefix] = iv.caches[prefix]
	}
	iv.mu.Unlock()
	for prefix, keys := range byCache {
		for _, c := range targets[prefix] {
			c.Forget(ctx, keys...)
		}
	}
	if iv.polls++; iv.polls%pruneEvery == 0 {
		if err := iv.store.PruneCacheInvalidations(ctx, now.Add(-iv.cfg.Retention)); err != nil && ctx.Err() == nil {
			iv.cfg.Logger.Warn("cache invalidations: cannot delete old rows", "err", err)
		}
	}
}
