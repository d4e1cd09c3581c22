package cached_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// partitionBound is what docs/SECURITY.md promises for an instance cut off
// from Redis: another instance drops what it deleted within a poll and one
// query.
const partitionBound = cached.DefaultPollInterval + time.Second

// instance is one process's strict cache of strings and its Invalidations
// on the shared database.
type instance struct {
	c    *cache.Cache[string]
	inv  *cached.Invalidations
	down chan bool // trust changes
}

func newInstance(t *testing.T, db *sqldb.DB, redisURL, prefix string) *instance {
	t.Helper()
	in := &instance{inv: cached.NewInvalidations(store.NewCacheInvalidations(db), cached.InvalidationsConfig{Logger: dbtest.Logger(t, 0)}), down: make(chan bool, 64)}
	c, err := cache.New[string](cache.Config{RedisURL: redisURL, Prefix: prefix, Strict: true, Fallback: in.inv}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in.c = c
	in.inv.Register(prefix, c)
	in.inv.Start()
	t.Cleanup(func() { in.inv.Close(); c.Close() })
	testenv.Wait(t, 0, "the cache to trust its tiers", c.Trusted)
	return in
}

// loader returns a load function of a row holding *v, counting its calls.
func loader(v *atomic.Pointer[string], calls *atomic.Int64) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { calls.Add(1); return *v.Load(), nil }
}

// TestInvalidations_Partition cuts instance A off from Redis while B keeps
// it: what A deletes is recorded in the database, and B, which still
// trusts Redis and its own copy, drops the key from both within a poll.
func TestInvalidations_Partition(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		redis := testenv.StartRedis(t)
		proxy := testenv.StartProxy(t, net.JoinHostPort("127.0.0.1", redis.Port))
		viaProxy, _ := url.Parse(redis.URL())
		viaProxy.Host = proxy.Addr()
		prefix := "t:" + rand.Text() + ":"
		a := newInstance(t, db, viaProxy.String(), prefix)
		b := newInstance(t, db, redis.URL(), prefix)

		var row atomic.Pointer[string]
		var calls atomic.Int64
		v1, v2 := "v1", "v2"
		row.Store(&v1)
		load := loader(&row, &calls)
		ctx := context.Background()
		for range 2 {
			if got, _ := b.c.GetOrLoad(ctx, "k", load); got != "v1" {
				t.Fatalf("b = %q", got)
			}
		}

		proxy.Refuse()
		testenv.Wait(t, 0, "A to stop trusting its tiers", func() bool { return !a.c.Trusted() })
		// A first Delete waits out A's own loss of Redis; the one measured
		// below answers at once, as every write after an outage's first
		// seconds does.
		if err := a.c.Delete(ctx, "warm-up"); !errors.Is(err, cache.ErrDegraded) {
			t.Fatalf("Delete = %v, want ErrDegraded", err)
		}
		row.Store(&v2)
		if err := a.c.Delete(ctx, "k"); !errors.Is(err, cache.ErrDegraded) {
			t.Fatalf("Delete = %v, want ErrDegraded", err)
		}
		deleted := time.Now()
		if !b.c.Trusted() {
			t.Fatal("B stopped trusting its tiers, though its Redis works: the test would not show the fallback")
		}
		testenv.Wait(t, partitionBound+5*time.Second, "B to drop the key A deleted", func() bool {
			got, _ := b.c.GetOrLoad(ctx, "k", load)
			return got == "v2"
		})
		took := time.Since(deleted)
		if took > partitionBound {
			t.Fatalf("B served the stale value for %v after A's Delete, want at most %v", took, partitionBound)
		}
		t.Logf("B dropped the key %v after A's Delete returned", took)
		// Gone from Redis too, not only from B's process: B's next reads
		// hit its in-process tier, loaded once from the database.
		n := calls.Load()
		if got, _ := b.c.GetOrLoad(ctx, "k", load); got != "v2" || calls.Load() != n {
			t.Fatalf("b = %q after %d loads, want v2 from its tier", got, calls.Load()-n)
		}
		if s := b.c.Stats(); s.RedisHits != 0 {
			t.Fatalf("b stats = %+v", s)
		}

		keys, err := b.inv.Recent(ctx, prefix)
		if err != nil || !slices.Equal(keys, []string{"warm-up", "k"}) {
			t.Fatalf("Recent = %q, %v", keys, err)
		}
		if keys, _ := b.inv.Recent(ctx, "other:"); len(keys) != 0 {
			t.Fatalf("Recent of another cache = %q", keys)
		}

		// A back: it trusts Redis again once it applied what it missed.
		proxy.Resume()
		testenv.Wait(t, 0, "A to trust its tiers again", a.c.Trusted)
		if got, _ := a.c.GetOrLoad(ctx, "k", load); got != "v2" {
			t.Fatalf("a = %q after reconnecting", got)
		}
	})
}
