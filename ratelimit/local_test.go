package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/ratelimit/ratelimittest"
)

func TestLocal(t *testing.T) {
	clk := ratelimittest.NewClock()
	ratelimittest.Run(t, ratelimit.NewLocal(ratelimit.LocalConfig{Now: clk.Now}), clk)
}

// TestLocal_Evicts checks that idle keys are forgotten and MaxKeys holds.
func TestLocal_Evicts(t *testing.T) {
	ctx := context.Background()
	clk := ratelimittest.NewClock()
	lim := ratelimit.NewLocal(ratelimit.LocalConfig{Now: clk.Now, MaxKeys: 1000})
	for i := range 500 {
		lim.Allow(ctx, fmt.Sprint("idle", i), ratelimittest.TenPer3m)
	}
	for range 10 {
		lim.Allow(ctx, "busy", ratelimittest.TenPer3m)
	}
	clk.Add(3 * time.Minute) // the idle keys have refilled; busy has too, but
	lim.Allow(ctx, "busy", ratelimittest.TenPer3m)
	lim.Allow(ctx, "new", ratelimittest.TenPer3m) // a new key sweeps
	if n := lim.Len(); n != 2 {
		t.Fatalf("%d keys kept after a sweep, want 2 (busy and new)", n)
	}
	if ok, _ := lim.Allow(ctx, "busy", ratelimittest.TenPer3m); !ok {
		t.Fatal("busy refused")
	}
	for i := range 5000 {
		lim.Allow(ctx, fmt.Sprint("flood", i), ratelimittest.TenPer3m)
	}
	if n := lim.Len(); n > 1000 {
		t.Fatalf("%d keys kept, MaxKeys is 1000", n)
	}
}

// TestLocal_FloodKeepsSpentKeys checks that a flood of new keys, one event
// each as from many addresses, does not push out a spent key: forgetting
// it would lift its limit.
func TestLocal_FloodKeepsSpentKeys(t *testing.T) {
	ctx := context.Background()
	clk := ratelimittest.NewClock()
	lim := ratelimit.NewLocal(ratelimit.LocalConfig{Now: clk.Now, MaxKeys: 1000})
	for range 10 {
		lim.Allow(ctx, "spent", ratelimittest.TenPer3m)
	}
	for i := range 20_000 {
		lim.Allow(ctx, fmt.Sprint("flood", i), ratelimittest.TenPer3m)
	}
	if n := lim.Len(); n > 1000 {
		t.Fatalf("%d keys kept, MaxKeys is 1000", n)
	}
	if ok, _ := lim.Allow(ctx, "spent", ratelimittest.TenPer3m); ok {
		t.Fatal("the spent key was forgotten in the flood: its limit is lifted")
	}
}

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ratelimit.Limit
	}{
		{"10/3m", ratelimittest.TenPer3m},
		{" 600/1m ", ratelimit.Limit{Events: 600, Per: time.Minute}},
		{"5/1h", ratelimit.Limit{Events: 5, Per: time.Hour}},
		{"off", ratelimit.NoLimit},
		{"0", ratelimit.NoLimit},
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
