package cache

import "github.com/maypok86/otter/v2"

// WithClock returns cfg with the in-process tier's clock replaced.
func WithClock(cfg Config, clock otter.Clock) Config { cfg.clock = clock; return cfg }

// WithStateHook returns cfg with fn called on each change of the Redis
// tier's state.
func WithStateHook(cfg Config, fn func(up bool)) Config { cfg.stateHook = fn; return cfg }

// Jitter exposes jitter to the tests.
var Jitter = jitter

// DropLocal removes key from the in-process tier only, without touching
// its generation, so that the next GetOrLoad goes to Redis.
func (c *Cache[V]) DropLocal(key string) { c.local.Invalidate(key) }

// WithTrustHook returns cfg with fn called each time a Strict cache starts
// or stops trusting its tiers.
func WithTrustHook(cfg Config, fn func(trusted bool)) Config { cfg.trustHook = fn; return cfg }
