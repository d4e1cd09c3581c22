package app

import (
	"fmt"
	"net/netip"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/ratelimit/redislimit"
)

// RateLimits returns the API's rate limits (KURA_LOGIN_RATE & co.).
func (c *Config) RateLimits() httpapi.RateLimits {
	return c.devRateLimits(httpapi.RateLimits{
		Login:         c.LoginRate,
		LoginFailures: c.LoginFailureRate,
		AnonWrite:     c.RegisterRate,
		AnonRead:      c.AnonReadRate,
		Token:         c.APIRate,
	})
}

// TrustedProxyList returns the prefixes of KURA_TRUSTED_PROXIES, checked
// by validate.
func (c *Config) TrustedProxyList() []netip.Prefix {
	p, _ := httpapi.ParseTrustedProxies(c.TrustedProxies)
	return p
}

// validateRateLimits checks KURA_TRUSTED_PROXIES.
func (c *Config) validateRateLimits() []fieldError {
	if _, err := httpapi.ParseTrustedProxies(c.TrustedProxies); err != nil {
		return []fieldError{{"KURA_TRUSTED_PROXIES", fmt.Sprintf("%v: want IP addresses or CIDR prefixes, comma-separated, such as 10.0.0.0/8,192.0.2.7", err)}}
	}
	return nil
}

// rateLimiter returns the API's limiter: none with KURA_RATE_LIMIT=false,
// shared through Redis with REDIS_URL (counting in process while Redis is
// down), else in process. Close closes it.
func (a *App) rateLimiter() (ratelimit.Limiter, error) {
	switch {
	case !a.cfg.RateLimit:
		a.log.Warn("rate limits are off (KURA_RATE_LIMIT=false)")
		return ratelimit.None{}, nil
	case a.cfg.RedisURL == "":
		return ratelimit.NewLocal(ratelimit.LocalConfig{}), nil
	}
	r, err := redislimit.NewRedis(redislimit.RedisConfig{URL: a.cfg.RedisURL, Prefix: a.cfg.CachePrefix + "ratelimit:", Logger: a.log})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, r.Close)
	return r, nil
}
