package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/redis/rueidis"
)

// MustRedis returns a plain client of the Redis at url, to look at what
// the cache stored.
func MustRedis(tb testing.TB, url string) rueidis.Client {
	tb.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	opt.DisableCache = true
	client, err := rueidis.NewClient(opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	return client
}

// MustRedisCaching returns a client with rueidis's client-side caching on.
func MustRedisCaching(tb testing.TB, url string) rueidis.Client {
	tb.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	return client
}

func TestCache_Redis(t *testing.T) {
	t.Run("RedisHit", func(t *testing.T) {
		cfg := RedisConfig(t)
		cfg.TTL = time.Minute
		a, b := MustNewUp(t, cfg), MustNewUp(t, cfg)
		l := NewLoader("v1")
		MustGet(t, a, "k", l.Load, "v1")
		MustGet(t, b, "k", l.Load, "v1") // from Redis
		MustGet(t, b, "k", l.Load, "v1") // from b's own tier
		if l.Calls() != 1 {
			t.Fatalf("loads = %d, want 1", l.Calls())
		}
		if s := b.Stats(); s.RedisHits != 1 || s.LocalHits != 1 || s.Loads != 0 || !s.RedisUp {
			t.Fatalf("b stats = %+v", s)
		}
		if s := a.Stats(); s.RedisMisses != 1 || s.Loads != 1 {
			t.Fatalf("a stats = %+v", s)
		}
		rc := MustRedis(t, cfg.RedisURL)
		ttl, err := rc.Do(context.Background(), rc.B().Pttl().Key(cfg.Prefix+"k").Build()).AsInt64()
		if err != nil || ttl < 54_000-1000 || ttl > 66_000 { // TTL ±10%, less what passed
			t.Fatalf("PTTL = %d, %v; want within a minute ±10%%", ttl, err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		cfg := RedisConfig(t)
		a, b := MustNewUp(t, cfg), MustNewUp(t, cfg)
		var calls int
		load := func(context.Context) (string, error) {
			calls++
			return "", kura.Errorf(kura.ENOTFOUND, "User not found.")
		}
		a.GetOrLoad(context.Background(), "k", load)
		_, err := b.GetOrLoad(context.Background(), "k", load)
		if kura.ErrorCode(err) != kura.ENOTFOUND || kura.ErrorMessage(err) != "User not found." || calls != 1 {
			t.Fatalf("err = %v, calls = %d", err, calls)
		}
	})

	t.Run("LoadErrorLeavesNoPlaceholder", func(t *testing.T) {
		cfg := RedisConfig(t)
		c := MustNewUp(t, cfg)
		boom := errors.New("boom")
		if _, err := c.GetOrLoad(context.Background(), "k", func(context.Context) (string, error) { return "", boom }); err != boom {
			t.Fatalf("err = %v", err)
		}
		rc := MustRedis(t, cfg.RedisURL)
		if n, _ := rc.Do(context.Background(), rc.B().Exists().Key(cfg.Prefix+"k").Build()).AsInt64(); n != 0 {
			t.Fatal("a failed load left its placeholder in Redis")
		}
	})

	t.Run("DeleteReachesOtherInstances", func(t *testing.T) {
		cfg := RedisConfig(t)
		a, b, c := MustNewUp(t, cfg), MustNewUp(t, cfg), MustNewUp(t, cfg)
		l := NewLoader("v1")
		for _, x := range []*cache.Cache[string]{a, b, c} {
			MustGet(t, x, "k", l.Load, "v1")
		}
		for i := range 20 { // each round: write, Delete on a, read on b and c straight after
			v := string(rune('a' + i))
			l.Set(v)
			if err := a.Delete(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
			MustGet(t, b, "k", l.Load, v)
			MustGet(t, c, "k", l.Load, v)
			MustGet(t, a, "k", l.Load, v)
		}
		if s := c.Stats(); s.Invalidations < 20 {
			t.Fatalf("c stats = %+v", s)
		}
	})

	t.Run("StaleLoadNotStoredInRedis", func(t *testing.T) {
		cfg := RedisConfig(t)
		a, b := MustNewUp(t, cfg), MustNewUp(t, cfg)
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			MustGet(t, a, "k", func(context.Context) (string, error) { close(started); <-release; return "old", nil }, "old")
		}()
		<-started
		if err := b.Delete(context.Background(), "k"); err != nil { // the write happened on b
			t.Fatal(err)
		}
		close(release)
		<-done
		rc := MustRedis(t, cfg.RedisURL)
		if v, err := rc.Do(context.Background(), rc.B().Get().Key(cfg.Prefix+"k").Build()).ToString(); !rueidis.IsRedisNil(err) {
			t.Fatalf("Redis holds %q after a load that raced Delete", v)
		}
		l := NewLoader("new")
		MustGet(t, a, "k", l.Load, "new")
		MustGet(t, b, "k", l.Load, "new")
	})

	t.Run("Ping", func(t *testing.T) {
		c := MustNewUp(t, RedisConfig(t))
		if err := c.Ping(context.Background()); err != nil || !c.Healthy() {
			t.Fatalf("Ping = %v, Healthy = %v", err, c.Healthy())
		}
		if err := MustNew(t, cache.Config{}).Ping(context.Background()); err != nil {
			t.Fatalf("Ping without Redis = %v", err)
		}
	})
}
