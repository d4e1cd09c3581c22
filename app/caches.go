package app

import (
	"log/slog"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/sqldb"
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
	return strictCaches(&a.cfg, readOnlyStore{store.NewCacheInvalidations(a.db), a}, a.log)
}

// AdminService returns the account management of db (roles, disabled
// accounts, the audit log; accounts.UserService) for a process beside
// the running instances, such as a command at a shell: with CACHE_TTL
// and REDIS_URL its changes reach every instance's caches of users and
// sessions as kura serve's own do (the same strict caches, the fallback
// through the database while Redis is down). shared reports whether they
// do: without REDIS_URL a running instance's in-process copy of a user
// lasts up to CACHE_TTL. closeAll closes what was made, even on error.
func AdminService(cfg Config, db *sqldb.DB, log *slog.Logger) (svc kura.AdminService, shared bool, closeAll func(), err error) {
	users := accounts.NewUserService(db)
	if cfg.CacheTTL <= 0 || cfg.RedisURL == "" {
		return users, cfg.CacheTTL <= 0, func() {}, nil
	}
	userCache, sessionCache, closeAll, err := strictCaches(&cfg, store.NewCacheInvalidations(db), log)
	if err != nil {
		return nil, false, closeAll, err
	}
	sessions := cached.NewSessionService(accounts.NewSessionService(db, 0), users, sessionCache, log)
	users.OnSessionsEnded = sessions.EndSessions
	return cached.NewAdminService(users, userCache, log), true, closeAll, nil
}

func strictCaches(c *Config, invStore cached.InvalidationStore, log *slog.Logger) (users *cache.Cache[kura.User], sessions *cache.Cache[kura.Session], closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- { // the poller first
			closers[i]()
		}
	}
	ttl := c.CacheTTL.D()
	var inv *cached.Invalidations
	if c.RedisURL != "" {
		inv = cached.NewInvalidations(invStore, cached.InvalidationsConfig{Retention: max(2*ttl, 2*time.Minute), Logger: log})
	}
	config := func(kind string) cache.Config {
		cfg := c.Cache(ttl, kind)
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
