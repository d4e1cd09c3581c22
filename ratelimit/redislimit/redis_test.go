package redislimit_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/ratelimit/ratelimittest"
	"github.com/kura-dev/kura/ratelimit/redislimit"
)

// newRedis returns a Redis limiter on url under prefix, on clk, closed at
// the end of the test.
func newRedis(t *testing.T, url, prefix string, clk *ratelimittest.Clock) *redislimit.Redis {
	t.Helper()
	lim, err := redislimit.NewRedis(redislimit.RedisConfig{URL: url, Prefix: prefix, Now: clk.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lim.Close)
	return lim
}

func TestRedis(t *testing.T) {
	clk := ratelimittest.NewClock()
	lim := newRedis(t, testenv.RedisURL(t), "kura-test-"+testenv.RandomSuffix()+":", clk)
	ratelimittest.Run(t, lim, clk)
	if lim.Degraded() {
		t.Fatal("degraded with Redis up")
	}
}

// TestRedis_Shared checks that two limiters on one Redis and prefix, as
// two processes would be, share one allowance.
func TestRedis_Shared(t *testing.T) {
	ctx := context.Background()
	clk := ratelimittest.NewClock()
	url, prefix := testenv.RedisURL(t), "kura-test-"+testenv.RandomSuffix()+":"
	a, b := newRedis(t, url, prefix, clk), newRedis(t, url, prefix, clk)
	allowed := 0
	for i := range 20 {
		lim := a
		if i%2 == 1 {
			lim = b
		}
		if ok, _ := lim.Allow(ctx, "k", ratelimittest.TenPer3m); ok {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("%d of 20 events allowed across two limiters, want 10", allowed)
	}
	if d := b.Delay(ctx, "k", ratelimittest.TenPer3m); d != 18*time.Second {
		t.Fatalf("Delay = %s, want 18s", d)
	}
}

// TestRedis_Outage kills Redis under a limiter: events are then counted
// in process (still limited, nothing fails), and in Redis again once it is
// back.
func TestRedis_Outage(t *testing.T) {
	ctx := context.Background()
	clk := ratelimittest.NewClock()
	srv := testenv.StartRedis(t)
	lim := newRedis(t, srv.URL(), "", clk)
	for range 4 {
		if ok, _ := lim.Allow(ctx, "k", ratelimittest.TenPer3m); !ok {
			t.Fatal("refused with Redis up")
		}
	}
	srv.Kill()
	allowed := 0
	for range 20 {
		if ok, _ := lim.Allow(ctx, "k", ratelimittest.TenPer3m); ok {
			allowed++
		}
	}
	if !lim.Degraded() {
		t.Fatal("not degraded with Redis killed")
	}
	// The fallback counted the 4 events Redis allowed: 6 more, not 10.
	if allowed != 6 {
		t.Fatalf("%d of 20 events allowed in process, want 6", allowed)
	}
	if d := lim.Delay(ctx, "k", ratelimittest.TenPer3m); d <= 0 {
		t.Fatal("Delay is 0 in process with the allowance spent")
	}

	srv.Start()
	// The client reconnects on a call after RetryEvery has passed.
	testenv.Wait(t, 0, "the limiter back on Redis", func() bool {
		clk.Add(redislimit.DefaultRetryEvery)
		lim.Delay(ctx, "probe", ratelimittest.TenPer3m)
		return !lim.Degraded()
	})
	// The restarted Redis is empty: the shared count starts again. The
	// first calls may still meet the client's old connections, be counted
	// in process and mark the limiter degraded for RetryEvery: wait, on the
	// clock, for an event of the spent key that Redis counts and allows.
	testenv.Wait(t, 0, "an event counted by the restarted Redis", func() bool {
		if lim.Degraded() {
			clk.Add(redislimit.DefaultRetryEvery)
		}
		ok, _ := lim.Allow(ctx, "k", ratelimittest.TenPer3m)
		return ok && !lim.Degraded()
	})
}

// TestRedis_Down runs the suite on a limiter whose Redis is killed before
// its first call: in process, the limits, reservations included, hold as
// Local's do.
func TestRedis_Down(t *testing.T) {
	clk := ratelimittest.NewClock()
	srv := testenv.StartRedis(t)
	lim := newRedis(t, srv.URL(), "", clk)
	srv.Kill()
	ratelimittest.Run(t, lim, clk)
	if !lim.Degraded() {
		t.Fatal("not degraded with Redis killed")
	}
}
