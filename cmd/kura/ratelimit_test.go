package main

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/ratelimit"
)

func TestLoadConfig_RateLimits(t *testing.T) {
	cfg, err := LoadConfig([]string{"KURA_LOGIN_RATE=off", "KURA_API_RATE=100/10s", "KURA_ANON_READ_RATE=60/1m", "KURA_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.7"}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.RateLimits()
	want := httpapi.RateLimits{
		Login:         ratelimit.NoLimit,
		LoginFailures: httpapi.DefaultLoginFailureLimit,
		AnonWrite:     httpapi.DefaultAnonWriteLimit,
		AnonRead:      ratelimit.Limit{Events: 60, Per: time.Minute},
		Token:         ratelimit.Limit{Events: 100, Per: 10 * time.Second},
	}
	if got != want {
		t.Errorf("rateLimits() = %+v, want %+v", got, want)
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	if p := cfg.TrustedProxyList(); !slices.Equal(p, proxies) {
		t.Errorf("trustedProxies() = %v", p)
	}
	if !cfg.RateLimit {
		t.Error("rate limits off by default")
	}
	cfg, err = LoadConfig([]string{"KURA_RATE_LIMIT=false"}, "")
	if err != nil || cfg.RateLimit {
		t.Fatalf("KURA_RATE_LIMIT=false: %v, RateLimit %v", err, cfg.RateLimit)
	}
}
