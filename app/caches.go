package app

import (
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/store"
)

// strictCaches returns the caches of users and of sessions, where a stale
// read decides who is let in and what they may do: Strict, so that while
// Redis cannot confirm invalidations an instance reads the database
// instead of its copy (see cache.Config.Strict), and with REDIS_URL, with
// the database as the fallback path of invalidations Redis could not
// deliver (cached.Invalidations), polled until closeAll. closeAll closes
// what was made, even on error.
func (a *App) strictCaches() (users *cache.Cache[kura.User], sessions *cache.Cache[kura.Session], closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- { // the poller first
			closers[i]()
		}
	}
	ttl := a.cfg.CacheTTL.D()
	var inv *cached.Invalidations
	if a.cfg.RedisURL != "" {
		inv = cached.NewInvalidations(readOnlyStore{store.NewCacheInvalidations(a.db), a}, cached.InvalidationsConfig{Retention: max(2*ttl, 2*time.Minute), Logger: a.log})
	}
	config := func(kind string) cache.Config {
		cfg := a.cfg.Cache(ttl, kind)
		cfg.Strict = true
		if inv != nil {
			cfg.Fallback = inv
		}
		return cfg
	}
	userCfg, sessionCfg := config("user:"), config("session:")
	if users, err = newCacheOf[kura.User](userCfg); err != nil {
		return nil, nil, closeAll, err
	}
	closers = append(closers, users.Close)
	if sessions, err = newCacheOf[kura.Session](sessionCfg); err != nil {
		return nil, nil, closeAll, err
	}
	closers = append(closers, sessions.Close)
	if inv != nil {
		inv.Register(userCfg.Prefix, users)
		inv.Register(sessionCfg.Prefix, sessions)
		inv.Start()
		closers = append(closers, inv.Close)
	}
	return users, sessions, closeAll, nil
}
