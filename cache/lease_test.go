package cache_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/internal/testenv"
)

// Trust records when a Strict cache starts and stops trusting its tiers.
type Trust chan TrustChange

// TrustChange is one change, and when it was reported.
type TrustChange struct {
	Trusted bool
	At      time.Time
}

// Wait waits until the cache reports trusted == want and returns when it
// did.
func (s Trust) Wait(tb testing.TB, want bool) time.Time {
	tb.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case c := <-s:
			if c.Trusted == want {
				return c.At
			}
		case <-timeout:
			tb.Fatalf("cache did not report trusted=%v", want)
		}
	}
}

// MustNewStrict returns a Strict cache on redisURL once it trusts its
// tiers, and its trust changes.
func MustNewStrict(tb testing.TB, cfg cache.Config) (*cache.Cache[string], Trust) {
	tb.Helper()
	cfg.Strict = true
	if cfg.Prefix == "" {
		cfg.Prefix = "t:"
	}
	trust := make(Trust, 64)
	cfg = cache.WithTrustHook(cfg, func(ok bool) { trust <- TrustChange{ok, time.Now()} })
	c := MustNew(tb, cfg)
	trust.Wait(tb, true)
	return c, trust
}

// throughProxy returns redisURL reached through p.
func throughProxy(tb testing.TB, redisURL string, p *testenv.Proxy) string {
	tb.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}

// MustDeleteDegraded deletes key on c, wants ErrDegraded, and returns when
// Delete returned and how long it took.
func MustDeleteDegraded(tb testing.TB, c *cache.Cache[string], key string) (time.Time, time.Duration) {
	tb.Helper()
	start := time.Now()
	err := c.Delete(context.Background(), key)
	end := time.Now()
	if !errors.Is(err, cache.ErrDegraded) {
		tb.Fatalf("Delete = %v, want ErrDegraded", err)
	}
	return end, end.Sub(start)
}

// wantLoads fails the test unless l was called n times.
// wantCachedAgain reads key on c until a read is served from c's copy
// (no load), each read answering want: once trust is back the cache is
// used again. The invalidation a Delete could not deliver during the
// outage may still arrive after trust came back and cost one more load;
// a stale value never.
func wantCachedAgain(tb testing.TB, c *cache.Cache[string], l *Loader, key, want string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		before := l.Calls()
		MustGet(tb, c, key, l.Load, want)
		if l.Calls() == before {
			return
		}
	}
	tb.Fatalf("%q was loaded on every read for 10 s after trust came back: the cache is not used again", key)
}

func wantLoads(tb testing.TB, l *Loader, n int64) {
	tb.Helper()
	if got := l.Calls(); got != n {
		tb.Fatalf("loads = %d, want %d", got, n)
	}
}

// TestCache_StrictRedisKilled kills the Redis of two Strict caches: the
// other instance stops serving its copy at once, every read goes to the
// loader, a Delete of the outage's first Lease returns only after the
// other instance stopped trusting, and trust comes back after Redis does
// with the in-process tier dropped.
func TestCache_StrictRedisKilled(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, _ := MustNewStrict(t, cache.Config{RedisURL: srv.URL()})
	b, trustB := MustNewStrict(t, cache.Config{RedisURL: srv.URL()})
	l := NewLoader("v1")
	MustGet(t, b, "k", l.Load, "v1")
	MustGet(t, b, "k", l.Load, "v1")
	wantLoads(t, l, 1)

	srv.Kill()
	l.Set("v2") // as if a's write were committed
	returned, took := MustDeleteDegraded(t, a, "k")
	lapsed := trustB.Wait(t, false)
	if returned.Before(lapsed) {
		t.Fatalf("Delete returned %v before the other instance stopped trusting its copy", lapsed.Sub(returned))
	}
	if took > cache.DefaultLease+time.Second {
		t.Fatalf("Delete took %v, more than the lease (%v)", took, cache.DefaultLease)
	}
	t.Logf("Delete took %v; b stopped trusting %v before it returned", took, returned.Sub(lapsed))
	// Past the outage's first Lease, a Delete no longer waits.
	if _, took := MustDeleteDegraded(t, a, "k"); took > cache.DefaultLease/4 {
		t.Fatalf("a Delete after the lease took %v", took)
	}
	MustGet(t, b, "k", l.Load, "v2")
	MustGet(t, b, "k", l.Load, "v2")
	wantLoads(t, l, 3)
	if s := b.Stats(); s.Untrusted != 2 || s.Trusted || b.Trusted() {
		t.Fatalf("b stats = %+v, want 2 untrusted reads", s)
	}
	if err := b.Ping(context.Background()); !errors.Is(err, cache.ErrDegraded) {
		t.Fatalf("Ping while the lease lapsed = %v", err)
	}

	srv.Start()
	trustB.Wait(t, true)
	l.Set("v3")
	wantCachedAgain(t, b, l, "k", "v3")
	if err := b.Ping(context.Background()); err != nil {
		t.Fatalf("Ping after trust came back = %v", err)
	}
}

// TestCache_StrictRedisPaused stops Redis with SIGSTOP: nothing breaks a
// connection, yet the other instance's lease lapses within Lease/2, and a
// Delete made meanwhile returns only after it did.
func TestCache_StrictRedisPaused(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, trustA := MustNewStrict(t, cache.Config{RedisURL: srv.URL()})
	b, trustB := MustNewStrict(t, cache.Config{RedisURL: srv.URL()})
	l := NewLoader("v1")
	MustGet(t, b, "k", l.Load, "v1")

	srv.Pause()
	paused := time.Now()
	t.Cleanup(srv.Resume)
	l.Set("v2")
	returned, took := MustDeleteDegraded(t, a, "k")
	lapsed := trustB.Wait(t, false)
	if returned.Before(lapsed) {
		t.Fatalf("Delete returned %v before the other instance stopped trusting its copy", lapsed.Sub(returned))
	}
	if d := lapsed.Sub(paused); d > cache.DefaultLease/2+cache.DefaultLease/4 {
		t.Fatalf("the lease lapsed %v after Redis stopped, want about %v", d, cache.DefaultLease/2)
	}
	if max := cache.DefaultInvalidationTimeout + cache.DefaultLease + time.Second; took > max {
		t.Fatalf("Delete took %v, want at most %v", took, max)
	}
	t.Logf("b stopped trusting %v after Redis stopped; Delete took %v and returned %v after that", lapsed.Sub(paused), took, returned.Sub(lapsed))
	MustGet(t, b, "k", l.Load, "v2")
	MustGet(t, b, "k", l.Load, "v2")
	wantLoads(t, l, 3)

	srv.Resume()
	// a deletes in Redis what Redis missed before it trusts again; without
	// a Fallback (see Config.Fallback) b could read that key from Redis
	// until then.
	trustA.Wait(t, true)
	trustB.Wait(t, true)
	l.Set("v3")
	wantCachedAgain(t, b, l, "k", "v3")
}

// TestCache_StrictConnectionStalled cuts b off from Redis through a proxy
// that stops forwarding without closing anything (packets dropped, no
// reset): b's lease lapses all the same, and a Delete on a, which Redis
// counts b as a receiver of, waits until it did.
func TestCache_StrictConnectionStalled(t *testing.T) {
	srv := testenv.StartRedis(t)
	p := testenv.StartProxy(t, net.JoinHostPort("127.0.0.1", srv.Port))
	a, _ := MustNewStrict(t, cache.Config{RedisURL: srv.URL()})
	b, trustB := MustNewStrict(t, cache.Config{RedisURL: throughProxy(t, srv.URL(), p)})
	l := NewLoader("v1")
	MustGet(t, b, "k", l.Load, "v1")

	p.Stall()
	l.Set("v2")
	stalled := time.Now()
	returned, took := MustDeleteDegraded(t, a, "k")
	lapsed := trustB.Wait(t, false)
	if returned.Before(lapsed) {
		t.Fatalf("Delete returned %v before the other instance stopped trusting its copy", lapsed.Sub(returned))
	}
	t.Logf("b stopped trusting %v after the stall; Delete took %v", lapsed.Sub(stalled), took)
	MustGet(t, b, "k", l.Load, "v2")

	p.Flow()
	trustB.Wait(t, true)
	MustGet(t, b, "k", l.Load, "v2")
	MustGet(t, b, "k", l.Load, "v2")
	wantLoads(t, l, 3)
}

// memFallback is a Fallback shared by the caches of a test, standing in
// for the application's database.
type memFallback struct {
	mu   sync.Mutex
	keys map[string][]string
}

func (f *memFallback) Record(_ context.Context, prefix string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string][]string{}
	}
	f.keys[prefix] = append(f.keys[prefix], keys...)
	return nil
}

func (f *memFallback) Recent(_ context.Context, prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.keys[prefix]), nil
}

// TestCache_StrictFallbackOnRecovery cuts two instances off from a Redis
// that keeps running; one deletes a key Redis holds and never comes back
// to delete it there: the other applies what the Fallback recorded before
// trusting Redis again, so it never reads the stale value.
func TestCache_StrictFallbackOnRecovery(t *testing.T) {
	srv := testenv.StartRedis(t)
	target := net.JoinHostPort("127.0.0.1", srv.Port)
	pa, pb := testenv.StartProxy(t, target), testenv.StartProxy(t, target)
	fb := &memFallback{}
	cfg := cache.Config{RedisURL: throughProxy(t, srv.URL(), pa), Prefix: "t:", Fallback: fb, Strict: true}
	trustA := make(Trust, 64)
	a, err := cache.New[string](cache.WithTrustHook(cfg, func(ok bool) { trustA <- TrustChange{ok, time.Now()} }), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close() // closed below already, unless the test failed first
	trustA.Wait(t, true)
	cfg.RedisURL = throughProxy(t, srv.URL(), pb)
	b, trustB := MustNewStrict(t, cfg)
	l := NewLoader("v1")
	MustGet(t, a, "k", l.Load, "v1") // in Redis now

	pa.Refuse()
	pb.Refuse()
	trustA.Wait(t, false)
	trustB.Wait(t, false)
	l.Set("v2")
	MustDeleteDegraded(t, a, "k")
	if keys, _ := fb.Recent(context.Background(), "t:"); !slices.Equal(keys, []string{"k"}) {
		t.Fatalf("recorded %q, want [k]", keys)
	}
	a.Close() // gone for good, its own retry with it

	pb.Resume() // the same Redis, still holding v1 under k
	trustB.Wait(t, true)
	MustGet(t, b, "k", l.Load, "v2")
	if s := b.Stats(); s.RedisHits != 0 {
		t.Fatalf("b stats = %+v: read Redis's stale copy", s)
	}
}

// TestCache_StrictForget drops keys found in the Fallback on an instance
// whose Redis works: they are gone from both tiers.
func TestCache_StrictForget(t *testing.T) {
	cfg := RedisConfig(t)
	a, _ := MustNewStrict(t, cfg)
	b, _ := MustNewStrict(t, cfg)
	l := NewLoader("v1")
	MustGet(t, a, "k", l.Load, "v1")
	MustGet(t, b, "k", l.Load, "v1") // from Redis
	l.Set("v2")
	b.Forget(context.Background(), "k")
	MustGet(t, b, "k", l.Load, "v2")
	wantLoads(t, l, 2)
	b.Forget(context.Background())
}

// TestCache_StrictRedisRestoredFromOldSnapshot restarts Redis from a
// snapshot taken before a Delete it confirmed, so that it holds the deleted
// value again: an instance that knew the Redis before empties the cache's
// keys in the new one before trusting it.
func TestCache_StrictRedisRestoredFromOldSnapshot(t *testing.T) {
	srv := testenv.StartRedis(t)
	a, _ := MustNewStrict(t, cache.Config{RedisURL: srv.URL()})
	b, trustB := MustNewStrict(t, cache.Config{RedisURL: srv.URL()})
	l := NewLoader("v1")
	MustGet(t, a, "k", l.Load, "v1") // in Redis now
	if rc := MustRedis(t, srv.URL()); rc.Do(context.Background(), rc.B().Save().Build()).Error() != nil {
		t.Fatal("SAVE failed")
	}
	l.Set("v2")
	if err := a.Delete(context.Background(), "k"); err != nil {
		t.Fatalf("Delete with Redis up = %v", err)
	}

	srv.Kill()
	trustB.Wait(t, false)
	srv.Start() // from the snapshot: k holds v1 again
	trustB.Wait(t, true)
	MustGet(t, b, "k", l.Load, "v2")
	if s := b.Stats(); s.RedisHits != 0 {
		t.Fatalf("b stats = %+v: read the restored value", s)
	}
}
