package cache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/internal/testenv"
)

func TestCache_RedisDownAtStart(t *testing.T) {
	srv := testenv.NewRedisServer(t) // not started yet
	cfg, states := Watch(cache.Config{RedisURL: srv.URL(), Prefix: "t:"})
	c := MustNew(t, cfg)
	states.Wait(t, false)
	if c.Healthy() || !errors.Is(c.Ping(context.Background()), cache.ErrDegraded) {
		t.Fatalf("Healthy = %v, Ping = %v; want degraded", c.Healthy(), c.Ping(context.Background()))
	}
	l := NewLoader("v1")
	MustGet(t, c, "k", l.Load, "v1")
	MustGet(t, c, "k", l.Load, "v1")
	l.Set("v2")
	if err := c.Delete(context.Background(), "k"); !errors.Is(err, cache.ErrDegraded) {
		t.Fatalf("Delete = %v, want ErrDegraded", err)
	}
	MustGet(t, c, "k", l.Load, "v2")
	if s := c.Stats(); s.Loads != 2 || s.LocalHits != 1 || s.RedisUp || !s.Degraded || s.FailedInvalidations != 1 {
		t.Fatalf("stats = %+v, want degraded, one failed invalidation", s)
	}

	testenv.StartRedisAt(t, srv)
	states.Wait(t, true)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Ping after Redis started = %v", err)
	}
	l.Set("v3") // the entry kept while degraded is dropped on connecting
	MustGet(t, c, "k", l.Load, "v3")
}

// TestCache_RedisKilled kills Redis under two instances and starts it
// again: every call succeeds throughout, and nothing stale is served after.
func TestCache_RedisKilled(t *testing.T) {
	srv := testenv.StartRedis(t)
	cfgA, statesA := Watch(cache.Config{RedisURL: srv.URL(), Prefix: "t:"})
	cfgB, statesB := Watch(cache.Config{RedisURL: srv.URL(), Prefix: "t:"})
	a, b := MustNew(t, cfgA), MustNew(t, cfgB)
	statesA.Wait(t, true)
	statesB.Wait(t, true)
	l := NewLoader("v1")
	MustGet(t, a, "k", l.Load, "v1")
	MustGet(t, b, "k", l.Load, "v1")

	srv.Kill()
	statesA.Wait(t, false)
	statesB.Wait(t, false)
	MustGet(t, a, "k", l.Load, "v1") // in-process tiers still answer
	MustGet(t, b, "other", l.Load, "v1")
	l.Set("v2")
	if err := a.Delete(context.Background(), "k"); !errors.Is(err, cache.ErrDegraded) {
		t.Fatalf("Delete = %v, want ErrDegraded", err)
	}
	MustGet(t, a, "k", l.Load, "v2")

	srv.Start()
	statesA.Wait(t, true)
	statesB.Wait(t, true)
	// b missed a's invalidation while Redis was down; it dropped its tier
	// on reconnecting, so it loads v2.
	MustGet(t, b, "k", l.Load, "v2")
	MustGet(t, a, "k", l.Load, "v2")
	l.Set("v3")
	if err := b.Delete(context.Background(), "k"); err != nil {
		t.Fatalf("Delete after recovery = %v", err)
	}
	MustGet(t, a, "k", l.Load, "v3")
	if s := b.Stats(); s.Resets < 2 || !s.RedisUp || s.Degraded || s.FailedInvalidations != 0 {
		t.Fatalf("b stats = %+v", s)
	}
	if s := a.Stats(); s.FailedInvalidations != 1 || s.Degraded {
		t.Fatalf("a stats = %+v, want one failed invalidation, not degraded", s)
	}
}

// TestCache_RedisRestartedWithData restarts Redis with the data it had:
// deletions made while it was down are applied on reconnecting, before the
// instance reads from Redis again.
func TestCache_RedisRestartedWithData(t *testing.T) {
	srv := testenv.StartRedis(t)
	cfgA, statesA := Watch(cache.Config{RedisURL: srv.URL(), Prefix: "t:"})
	cfgB, statesB := Watch(cache.Config{RedisURL: srv.URL(), Prefix: "t:"})
	a, b := MustNew(t, cfgA), MustNew(t, cfgB)
	statesA.Wait(t, true)
	statesB.Wait(t, true)
	l := NewLoader("v1")
	MustGet(t, a, "k", l.Load, "v1") // stored in Redis

	srv.ShutdownSave()
	statesA.Wait(t, false)
	statesB.Wait(t, false)
	l.Set("v2")
	if err := a.Delete(context.Background(), "k"); !errors.Is(err, cache.ErrDegraded) {
		t.Fatalf("Delete = %v, want ErrDegraded", err)
	}

	srv.Start() // loads v1 from its dump
	statesA.Wait(t, true)
	statesB.Wait(t, true)
	MustGet(t, b, "k", l.Load, "v2")
	MustGet(t, a, "k", l.Load, "v2")
}
