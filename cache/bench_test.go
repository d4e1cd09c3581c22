package cache_test

import (
	"context"
	"testing"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/maypok86/otter/v2"
)

// BenchmarkLocalHit compares a hit of the in-process tier with a bare
// otter GetIfPresent of the same value.
func BenchmarkLocalHit(b *testing.B) {
	ctx := context.Background()
	load := func(context.Context) (string, error) { return "value", nil }
	b.Run("cache", func(b *testing.B) {
		c := MustNew(b, cache.Config{})
		MustGet(b, c, "k", load, "value")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.GetOrLoad(ctx, "k", load)
			}
		})
	})
	// With a Redis tier, Strict or not: a Strict cache checks its lease on
	// every hit.
	for _, strict := range []bool{false, true} {
		name := "redis"
		if strict {
			name = "redis-strict"
		}
		b.Run(name, func(b *testing.B) {
			cfg := RedisConfig(b)
			cfg.Strict = strict
			c := MustNewUp(b, cfg)
			testenv.Wait(b, 0, "the cache to trust its tiers", c.Trusted)
			MustGet(b, c, "k", load, "value")
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.GetOrLoad(ctx, "k", load)
				}
			})
			if s := c.Stats(); s.Untrusted != 0 || s.LocalHits < uint64(b.N) {
				b.Fatalf("not every read was a local hit: %+v", s)
			}
		})
	}
	b.Run("otter-expiry", func(b *testing.B) { // bare otter with the same per-entry TTL
		o := otter.Must(&otter.Options[string, string]{
			MaximumSize:      cache.DefaultSize,
			ExpiryCalculator: otter.ExpiryWriting[string, string](cache.DefaultTTL),
		})
		o.Set("k", "value")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				o.GetIfPresent("k")
			}
		})
	})
	b.Run("otter", func(b *testing.B) {
		o := otter.Must(&otter.Options[string, string]{MaximumSize: cache.DefaultSize})
		o.Set("k", "value")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				o.GetIfPresent("k")
			}
		})
	})
}

// BenchmarkRedisHit compares a hit of the Redis tier (the in-process entry
// dropped before each call) with a bare rueidis GET, and with rueidis's own
// client-side cache (DoCache) for reference.
func BenchmarkRedisHit(b *testing.B) {
	ctx := context.Background()
	cfg := RedisConfig(b)
	load := func(context.Context) (string, error) { return "value", nil }
	b.Run("cache", func(b *testing.B) {
		c := MustNewUp(b, cfg)
		MustGet(b, c, "k", load, "value")
		for b.Loop() {
			c.DropLocal("k")
			c.GetOrLoad(ctx, "k", load)
		}
		if s := c.Stats(); s.Loads != 1 {
			b.Fatalf("stats = %+v", s)
		}
	})
	rc := MustRedis(b, cfg.RedisURL)
	get := rc.B().Get().Key(cfg.Prefix + "k").Build().Pin()
	b.Run("rueidis-GET", func(b *testing.B) {
		for b.Loop() {
			rc.Do(ctx, get).AsBytes()
		}
	})
	b.Run("rueidis-DoCache", func(b *testing.B) {
		cc := MustRedisCaching(b, cfg.RedisURL)
		cached := cc.B().Get().Key(cfg.Prefix + "k").Cache().Pin()
		for b.Loop() {
			cc.DoCache(ctx, cached, cfg.TTL+cache.DefaultTTL).AsBytes()
		}
	})
}
