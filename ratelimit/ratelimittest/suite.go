// Package ratelimittest is the test suite every ratelimit.Limiter passes,
// and the clock it moves.
package ratelimittest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/ratelimit"
)

// Clock is a time that tests move.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at noon, 1 January 2026.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TenPer3m is the limit the suite uses: a burst of 10, then one every 18s.
var TenPer3m = ratelimit.Limit{Events: 10, Per: 3 * time.Minute}

// Run checks the behaviour every Limiter shares: lim must be new, and
// read the time from clk.
func Run(t *testing.T, lim ratelimit.Limiter, clk *Clock) {
	ctx := context.Background()
	t.Run("Burst", func(t *testing.T) {
		for i := range 10 {
			if ok, _ := lim.Allow(ctx, "burst", TenPer3m); !ok {
				t.Fatalf("event %d refused within the burst", i+1)
			}
		}
		ok, wait := lim.Allow(ctx, "burst", TenPer3m)
		if ok || wait != 18*time.Second {
			t.Fatalf("11th event: ok=%v wait=%s, want refused and 18s", ok, wait)
		}
		if d := lim.Delay(ctx, "burst", TenPer3m); d != 18*time.Second {
			t.Fatalf("Delay = %s, want 18s", d)
		}
		clk.Add(17 * time.Second)
		if ok, wait := lim.Allow(ctx, "burst", TenPer3m); ok || wait != time.Second {
			t.Fatalf("after 17s: ok=%v wait=%s, want refused and 1s", ok, wait)
		}
		clk.Add(time.Second)
		if ok, _ := lim.Allow(ctx, "burst", TenPer3m); !ok {
			t.Fatal("refused once one interval passed")
		}
		if ok, _ := lim.Allow(ctx, "burst", TenPer3m); ok {
			t.Fatal("two events allowed after one interval")
		}
	})
	t.Run("KeysAndLimitsApart", func(t *testing.T) {
		for range 10 {
			lim.Allow(ctx, "a", TenPer3m)
		}
		if ok, _ := lim.Allow(ctx, "b", TenPer3m); !ok {
			t.Fatal("key b refused for key a's events")
		}
		if ok, _ := lim.Allow(ctx, "a", ratelimit.Limit{Events: 20, Per: time.Hour}); !ok {
			t.Fatal("key a under another limit refused")
		}
		if d := lim.Delay(ctx, "unknown", TenPer3m); d != 0 {
			t.Fatalf("Delay of an unseen key = %s", d)
		}
	})
	t.Run("RefillsWhole", func(t *testing.T) {
		for range 10 {
			lim.Allow(ctx, "whole", TenPer3m)
		}
		clk.Add(3 * time.Minute)
		for i := range 10 {
			if ok, _ := lim.Allow(ctx, "whole", TenPer3m); !ok {
				t.Fatalf("event %d refused after a whole period", i+1)
			}
		}
	})
	t.Run("Off", func(t *testing.T) {
		for range 100 {
			if ok, _ := lim.Allow(ctx, "off", ratelimit.NoLimit); !ok {
				t.Fatal("NoLimit refused an event")
			}
			if ok, wait := lim.Reserve(ctx, "off", ratelimit.NoLimit, 0); !ok || wait != 0 {
				t.Fatalf("NoLimit reserved: ok=%v wait=%s", ok, wait)
			}
		}
	})
	t.Run("Reserve", func(t *testing.T) { reserve(t, lim, clk) })
	t.Run("ReserveParallel", func(t *testing.T) { reserveParallel(t, lim) })
}

// reserve checks that Reserve takes the events whose slot lies within
// its maxWait, one interval apart, and refuses the next without taking it.
func reserve(t *testing.T, lim ratelimit.Limiter, clk *Clock) {
	ctx := context.Background()
	const maxWait = 40 * time.Second
	for i := range 10 {
		if ok, wait := lim.Reserve(ctx, "reserve", TenPer3m, maxWait); !ok || wait != 0 {
			t.Fatalf("event %d within the burst: ok=%v wait=%s, want taken at once", i+1, ok, wait)
		}
	}
	for _, want := range []time.Duration{18 * time.Second, 36 * time.Second} {
		if ok, wait := lim.Reserve(ctx, "reserve", TenPer3m, maxWait); !ok || !near(wait, want) {
			t.Fatalf("past the burst: ok=%v wait=%s, want taken for %s ahead", ok, wait, want)
		}
	}
	if ok, wait := lim.Reserve(ctx, "reserve", TenPer3m, maxWait); ok || !near(wait, 54*time.Second) {
		t.Fatalf("beyond maxWait: ok=%v wait=%s, want refused and 54s", ok, wait)
	}
	if ok, wait := lim.Allow(ctx, "reserve", TenPer3m); ok || !near(wait, 54*time.Second) {
		t.Fatalf("Allow after the refusal: ok=%v wait=%s, want refused and 54s (the refusal took nothing)", ok, wait)
	}
	if d := lim.Delay(ctx, "reserve", TenPer3m); !near(d, 54*time.Second) {
		t.Fatalf("Delay = %s, want 54s", d)
	}
	clk.Add(18 * time.Second)
	if ok, wait := lim.Reserve(ctx, "reserve", TenPer3m, maxWait); !ok || !near(wait, 36*time.Second) {
		t.Fatalf("one interval later: ok=%v wait=%s, want taken for 36s ahead", ok, wait)
	}
	if ok, wait := lim.Reserve(ctx, "reserve", TenPer3m, 0); ok || !near(wait, 54*time.Second) {
		t.Fatalf("with no wait allowed: ok=%v wait=%s, want refused and 54s", ok, wait)
	}
}

// reserveParallel checks that callers racing for one key's allowance take
// no more than it holds: the burst and the slots within maxWait.
func reserveParallel(t *testing.T, lim ratelimit.Limiter) {
	ctx := context.Background()
	const maxWait = 40 * time.Second // the burst of 10, then slots at 18s and 36s
	var taken atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if ok, _ := lim.Reserve(ctx, "parallel", TenPer3m, maxWait); ok {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 12 {
		t.Fatalf("%d of 50 parallel reservations taken, want 12", n)
	}
}

// near reports whether d is want, to the microsecond a shared store keeps.
func near(d, want time.Duration) bool { return (d - want).Abs() < time.Microsecond }
