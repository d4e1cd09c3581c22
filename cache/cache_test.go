package cache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/internal/testenv"
)

// fakeClock is the in-process tier's clock, moved by the test.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Hour.Nanoseconds())
	return c
}

func (c *fakeClock) NowNano() int64                      { return c.ns.Load() }
func (c *fakeClock) Tick(time.Duration) <-chan time.Time { return nil }
func (c *fakeClock) Add(d time.Duration)                 { c.ns.Add(d.Nanoseconds()) }

func TestCache_GetOrLoad(t *testing.T) {
	t.Run("LocalHit", func(t *testing.T) {
		c := MustNew(t, cache.Config{})
		l := NewLoader("v1")
		MustGet(t, c, "k", l.Load, "v1")
		l.Set("v2")
		MustGet(t, c, "k", l.Load, "v1")
		if l.Calls() != 1 {
			t.Fatalf("loads = %d, want 1", l.Calls())
		}
		s := c.Stats()
		if s.LocalHits != 1 || s.LocalMisses != 1 || s.Loads != 1 || s.RedisHits != 0 || s.RedisUp {
			t.Fatalf("stats = %+v", s)
		}
	})

	t.Run("ErrNotCached", func(t *testing.T) {
		c := MustNew(t, cache.Config{})
		boom := errors.New("boom")
		var calls int
		load := func(context.Context) (string, error) { calls++; return "", boom }
		for range 2 {
			if _, err := c.GetOrLoad(context.Background(), "k", load); err != boom {
				t.Fatalf("err = %v, want boom", err)
			}
		}
		if calls != 2 || c.Stats().LoadErrors != 2 {
			t.Fatalf("calls = %d, stats = %+v", calls, c.Stats())
		}
	})

	t.Run("NotFoundCached", func(t *testing.T) {
		clock := newFakeClock()
		c := MustNew(t, cache.WithClock(cache.Config{NotFoundTTL: 5 * time.Second}, clock))
		notFound := kura.Errorf(kura.ENOTFOUND, "User not found.")
		var calls int
		load := func(context.Context) (string, error) { calls++; return "", notFound }
		for range 2 {
			if _, err := c.GetOrLoad(context.Background(), "k", load); err != notFound {
				t.Fatalf("err = %v, want the loader's", err)
			}
		}
		if calls != 1 {
			t.Fatalf("calls = %d, want 1", calls)
		}
		clock.Add(5*time.Second*11/10 + time.Millisecond) // past the TTL and its jitter
		c.GetOrLoad(context.Background(), "k", load)
		if calls != 2 {
			t.Fatalf("calls after NotFoundTTL = %d, want 2", calls)
		}
	})

	t.Run("NotFoundCachingOff", func(t *testing.T) {
		c := MustNew(t, cache.Config{NotFoundTTL: -1})
		var calls int
		load := func(context.Context) (string, error) { calls++; return "", kura.Errorf(kura.ENOTFOUND, "no") }
		c.GetOrLoad(context.Background(), "k", load)
		c.GetOrLoad(context.Background(), "k", load)
		if calls != 2 {
			t.Fatalf("calls = %d, want 2", calls)
		}
	})

	t.Run("CustomNotFound", func(t *testing.T) {
		gone := errors.New("gone")
		c := MustNew(t, cache.Config{IsNotFound: func(err error) bool { return err == gone }})
		var calls int
		load := func(context.Context) (string, error) { calls++; return "", gone }
		c.GetOrLoad(context.Background(), "k", load)
		if _, err := c.GetOrLoad(context.Background(), "k", load); err != gone || calls != 1 {
			t.Fatalf("err = %v, calls = %d", err, calls)
		}
	})

	t.Run("CallerContextEnds", func(t *testing.T) {
		c := MustNew(t, cache.Config{})
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		_, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { <-release; return "v", nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestCache_TTL(t *testing.T) {
	clock := newFakeClock()
	c := MustNew(t, cache.WithClock(cache.Config{TTL: time.Minute}, clock))
	l := NewLoader("v1")
	MustGet(t, c, "k", l.Load, "v1")
	clock.Add(time.Minute * 9 / 10) // within the shortest jittered TTL
	MustGet(t, c, "k", l.Load, "v1")
	l.Set("v2")
	clock.Add(time.Minute*2/10 + time.Millisecond) // past the longest
	MustGet(t, c, "k", l.Load, "v2")
	if l.Calls() != 2 {
		t.Fatalf("loads = %d, want 2", l.Calls())
	}
}

func TestJitter(t *testing.T) {
	const d = 100 * time.Second
	lo, hi := d, d
	for range 10_000 {
		j := cache.Jitter(d, 0.1)
		if j < d*9/10 || j > d*11/10 {
			t.Fatalf("jitter = %v, outside ±10%% of %v", j, d)
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo > d*95/100 || hi < d*105/100 {
		t.Fatalf("jitter spans only [%v, %v]", lo, hi)
	}
	if j := cache.Jitter(d, -1); j != d {
		t.Fatalf("jitter off = %v, want %v", j, d)
	}
}

// TestCache_OneLoad checks that 50 concurrent misses of a key run one load.
func TestCache_OneLoad(t *testing.T) {
	for _, tier := range []string{"Local", "Redis"} {
		t.Run(tier, func(t *testing.T) {
			c := newTier(t, tier, cache.Config{})
			release := make(chan struct{})
			var calls atomic.Int64
			load := func(context.Context) (string, error) { calls.Add(1); <-release; return "v", nil }
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() { MustGet(t, c, "k", load, "v") })
			}
			testenv.Wait(t, 0, "every caller to miss and wait", func() bool { return c.Stats().LocalMisses >= 50 })
			close(release)
			wg.Wait()
			if calls.Load() != 1 {
				t.Fatalf("loads = %d, want 1", calls.Load())
			}
		})
	}
}

// TestCache_DeleteDuringLoad is the classic race: a load reads the old row,
// the row changes and Delete returns, then the load finishes. Its result
// must not be served to anyone who asks after Delete returned.
func TestCache_DeleteDuringLoad(t *testing.T) {
	for _, tier := range []string{"Local", "Redis"} {
		t.Run(tier, func(t *testing.T) {
			cfg := cache.Config{}
			if tier == "Redis" {
				cfg = RedisConfig(t)
			}
			a, b := newTier(t, tier, cfg), newTier(t, tier, cfg)
			started, release := make(chan struct{}), make(chan struct{})
			stale := func(context.Context) (string, error) { close(started); <-release; return "old", nil }
			done := make(chan struct{})
			go func() { defer close(done); MustGet(t, a, "k", stale, "old") }()
			<-started
			l := NewLoader("new") // the write
			if err := a.Delete(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
			// A caller after Delete must not join the load in flight.
			MustGet(t, a, "k", l.Load, "new")
			close(release)
			<-done
			MustGet(t, a, "k", l.Load, "new")
			MustGet(t, b, "k", l.Load, "new")
		})
	}
}

func TestCache_Delete(t *testing.T) {
	c := MustNew(t, cache.Config{})
	l := NewLoader("v1")
	MustGet(t, c, "a", l.Load, "v1")
	MustGet(t, c, "b", l.Load, "v1")
	l.Set("v2")
	if err := c.Delete(context.Background(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	MustGet(t, c, "a", l.Load, "v2")
	MustGet(t, c, "b", l.Load, "v2")
	if err := c.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNew_Invalid(t *testing.T) {
	for _, cfg := range []cache.Config{{TTL: -1}, {Size: -1}, {Jitter: 1}, {RedisURL: "http://x"}} {
		if _, err := cache.New[string](cfg, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// newTier returns a cache in-process only ("Local") or with a Redis tier
// that is up ("Redis"); a cfg without RedisURL gets the shared test Redis.
func newTier(tb testing.TB, tier string, cfg cache.Config) *cache.Cache[string] {
	tb.Helper()
	if tier == "Local" {
		return MustNew(tb, cfg)
	}
	if cfg.RedisURL == "" {
		cfg = RedisConfig(tb)
	}
	return MustNewUp(tb, cfg)
}
