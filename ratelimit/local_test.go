package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/ratelimit"
)

// clock is a time that tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var tenPer3m = ratelimit.Limit{Events: 10, Per: 3 * time.Minute}

// testLimiter checks the behaviour every Limiter shares, on a clock the
// test moves.
func testLimiter(t *testing.T, lim ratelimit.Limiter, clk *clock) {
	ctx := context.Background()
	t.Run("Burst", func(t *testing.T) {
		for i := range 10 {
			if ok, _ := lim.Allow(ctx, "burst", tenPer3m); !ok {
				t.Fatalf("event %d refused within the burst", i+1)
			}
		}
		ok, wait := lim.Allow(ctx, "burst", tenPer3m)
		if ok || wait != 18*time.Second {
			t.Fatalf("11th event: ok=%v wait=%s, want refused and 18s", ok, wait)
		}
		if d := lim.Delay(ctx, "burst", tenPer3m); d != 18*time.Second {
			t.Fatalf("Delay = %s, want 18s", d)
		}
		clk.Add(17 * time.Second)
		if ok, wait := lim.Allow(ctx, "burst", tenPer3m); ok || wait != time.Second {
			t.Fatalf("after 17s: ok=%v wait=%s, want refused and 1s", ok, wait)
		}
		clk.Add(time.Second)
		if ok, _ := lim.Allow(ctx, "burst", tenPer3m); !ok {
			t.Fatal("refused once one interval passed")
		}
		if ok, _ := lim.Allow(ctx, "burst", tenPer3m); ok {
			t.Fatal("two events allowed after one interval")
		}
	})
	t.Run("KeysAndLimitsApart", func(t *testing.T) {
		for range 10 {
			lim.Allow(ctx, "a", tenPer3m)
		}
		if ok, _ := lim.Allow(ctx, "b", tenPer3m); !ok {
			t.Fatal("key b refused for key a's events")
		}
		if ok, _ := lim.Allow(ctx, "a", ratelimit.Limit{Events: 20, Per: time.Hour}); !ok {
			t.Fatal("key a under another limit refused")
		}
		if d := lim.Delay(ctx, "unknown", tenPer3m); d != 0 {
			t.Fatalf("Delay of an unseen key = %s", d)
		}
	})
	t.Run("RefillsWhole", func(t *testing.T) {
		for range 10 {
			lim.Allow(ctx, "whole", tenPer3m)
		}
		clk.Add(3 * time.Minute)
		for i := range 10 {
			if ok, _ := lim.Allow(ctx, "whole", tenPer3m); !ok {
				t.Fatalf("event %d refused after a whole period", i+1)
			}
		}
	})
	t.Run("Off", func(t *testing.T) {
		for range 100 {
			if ok, _ := lim.Allow(ctx, "off", ratelimit.Limit{}); !ok {
				t.Fatal("the zero Limit refused an event")
			}
		}
	})
}

func TestLocal(t *testing.T) {
	clk := newClock()
	testLimiter(t, ratelimit.NewLocal(ratelimit.LocalConfig{Now: clk.Now}), clk)
}

// TestLocal_Evicts checks that idle keys are forgotten and MaxKeys holds.
func TestLocal_Evicts(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	lim := ratelimit.NewLocal(ratelimit.LocalConfig{Now: clk.Now, MaxKeys: 1000})
	for i := range 500 {
		lim.Allow(ctx, fmt.Sprint("idle", i), tenPer3m)
	}
	for range 10 {
		lim.Allow(ctx, "busy", tenPer3m)
	}
	clk.Add(3 * time.Minute) // the idle keys have refilled; busy has too, but
	lim.Allow(ctx, "busy", tenPer3m)
	lim.Allow(ctx, "new", tenPer3m) // a new key sweeps
	if n := lim.Len(); n != 2 {
		t.Fatalf("%d keys kept after a sweep, want 2 (busy and new)", n)
	}
	if ok, _ := lim.Allow(ctx, "busy", tenPer3m); !ok {
		t.Fatal("busy refused")
	}
	for i := range 5000 {
		lim.Allow(ctx, fmt.Sprint("flood", i), tenPer3m)
	}
	if n := lim.Len(); n > 1000 {
		t.Fatalf("%d keys kept, MaxKeys is 1000", n)
	}
}

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ratelimit.Limit
	}{
		{"10/3m", tenPer3m},
		{" 600/1m ", ratelimit.Limit{Events: 600, Per: time.Minute}},
		{"5/1h", ratelimit.Limit{Events: 5, Per: time.Hour}},
		{"off", ratelimit.Limit{}},
		{"0", ratelimit.Limit{}},
	} {
		got, err := ratelimit.ParseLimit(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, _ := ratelimit.ParseLimit(got.String()); again != got {
			t.Errorf("ParseLimit(%q.String()) = %v", got, again)
		}
	}
	for _, in := range []string{"", "10", "ten/3m", "10/", "10/-1m", "0/1m", "10/3", "2000000/1s"} {
		if _, err := ratelimit.ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) accepted", in)
		}
	}
}
