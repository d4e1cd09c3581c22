package cache_test

import (
	"context"
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/internal/testenv"
)

// MustNew returns a cache of strings closed when the test ends.
func MustNew(tb testing.TB, cfg cache.Config) *cache.Cache[string] {
	tb.Helper()
	c, err := cache.New[string](cfg, nil)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// MustNewUp returns a cache with a Redis tier once it is subscribed.
func MustNewUp(tb testing.TB, cfg cache.Config) *cache.Cache[string] {
	tb.Helper()
	cfg, states := Watch(cfg)
	c := MustNew(tb, cfg)
	states.Wait(tb, true)
	return c
}

// RedisConfig returns a Config on the shared test Redis under a key prefix
// of its own, so that parallel tests do not collide.
func RedisConfig(tb testing.TB) cache.Config {
	tb.Helper()
	return cache.Config{RedisURL: testenv.RedisURL(tb), Prefix: "kuratest:" + rand.Text() + ":"}
}

// States records the Redis tier's state changes of one cache.
type States chan bool

// Watch returns cfg reporting its state changes to a new States.
func Watch(cfg cache.Config) (cache.Config, States) {
	s := make(States, 64)
	return cache.WithStateHook(cfg, func(up bool) { s <- up }), s
}

// Wait waits until the cache reports the state want.
func (s States) Wait(tb testing.TB, want bool) {
	tb.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case got := <-s:
			if got == want {
				return
			}
		case <-timeout:
			tb.Fatalf("cache did not report up=%v", want)
		}
	}
}

// Loader is a load function that counts its calls and returns the current
// value of a fake database row.
type Loader struct {
	calls atomic.Int64
	value atomic.Pointer[string]
}

// NewLoader returns a Loader whose row holds v.
func NewLoader(v string) *Loader {
	l := &Loader{}
	l.Set(v)
	return l
}

// Set changes the row.
func (l *Loader) Set(v string) { l.value.Store(&v) }

// Load is the load function.
func (l *Loader) Load(context.Context) (string, error) {
	l.calls.Add(1)
	return *l.value.Load(), nil
}

// Calls returns the number of loads so far.
func (l *Loader) Calls() int64 { return l.calls.Load() }

// MustGet calls GetOrLoad and fails the test on an error or a value other
// than want.
func MustGet(tb testing.TB, c *cache.Cache[string], key string, load func(context.Context) (string, error), want string) {
	tb.Helper()
	got, err := c.GetOrLoad(context.Background(), key, load)
	if err != nil || got != want {
		tb.Fatalf("GetOrLoad(%q) = %q, %v; want %q", key, got, err, want)
	}
}
