package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// newServer makes the HTTP server: kura's routes over the services,
// cached as configured, behind the rate limits, then the app's routes.
func (a *App) newServer() error {
	svc, err := a.services()
	if err != nil {
		return err
	}
	limiter, err := a.rateLimiter()
	if err != nil {
		return err
	}
	a.srv = httpapi.NewServer(httpapi.Config{
		Addr:           a.cfg.Addr,
		Users:          svc.users,
		Sessions:       svc.sessions,
		Stats:          svc.stats,
		Notifications:  store.NewNotificationService(a.db),
		Accounts:       a.accountService(),
		Admin:          svc.admin,
		Checks:         svc.checks,
		Notes:          append([]httpapi.HealthNote{a.backupNote(), a.readOnlyNote(), a.mailNote()}, a.replicaNotes()...),
		OnRequest:      a.onRequest(),
		Limiter:        limiter,
		RateLimits:     a.cfg.RateLimits(),
		TrustedProxies: a.cfg.TrustedProxyList(),
		Logger:         a.log,
		CORSOrigins:    a.cfg.CORSOriginList(),
		CORSLoopback:   a.cfg.Dev,
		Index:          a.opts.Index,
		Idempotency:    store.NewIdempotencyStore(a.db),
	})
	a.metricsRoute(a.srv)
	if err := a.mountConsole(svc.sessions, svc.admin); err != nil {
		return err
	}
	if a.opts.Routes != nil {
		return a.opts.Routes(a, a.srv)
	}
	return nil
}

// Run runs the app until ctx ends (SIGINT or SIGTERM): it records the
// instance and applies the read-only switch, starts the job workers and
// serves. When ctx ends it reports itself draining on /health/ready for
// KURA_DRAIN_DELAY while still serving, stops accepting, drains in-flight
// requests, stops the workers (running jobs finish or are handed back)
// and closes the pools, in that order, within KURA_SHUTDOWN_TIMEOUT. It
// closes the app when it returns.
func (a *App) Run(ctx context.Context) error {
	defer a.Close()
	working := a.opts.Worker || a.cfg.Workers > 0
	// The workers start only while the read-only switch is off (not in
	// ctx: they stop after the HTTP server has drained).
	apply := a.readOnlyApply(context.WithoutCancel(ctx), a.srv, a.jc, working)
	if a.opts.Worker {
		inst, err := a.startInstance(ctx, "worker", apply)
		if err != nil {
			return err
		}
		a.log.Info(a.opts.Name+" worker running", "engine", string(a.db.Dialect()), "concurrency", a.concurrency(), "version", kura.Version)
		a.ready()
		return a.stopOnSignal(ctx, inst.halt, a.jc.Stop, inst.retire)
	}
	inst, err := a.startInstance(ctx, httpapi.URLOf(a.ln.Addr()), apply)
	if err != nil {
		a.jc.Stop(ctx)
		return err
	}
	if err := a.srv.Serve(a.ln); err != nil {
		inst.retire(ctx)
		a.jc.Stop(ctx)
		return err
	}
	a.ln = nil // srv.Close closes it from now on
	a.log.Info(a.opts.Name+" serving", "url", a.srv.URL(), "engine", string(a.db.Dialect()), "version", kura.Version)
	if a.cfg.Dev {
		a.log.Warn("development mode (KURA_DEV): CORS is open to http://localhost:* and http://127.0.0.1:*, registrations are not limited; never in production")
	}
	if a.opts.Serving != nil {
		a.opts.Serving(a, a.srv.URL())
	}
	a.ready()
	return a.stopOnSignal(a.drained(ctx, a.srv), inst.halt, a.srv.Close, a.jc.Stop, inst.retire)
}

// stopOnSignal waits until ctx ends (SIGINT or SIGTERM), then calls each
// of stops in order, all within one KURA_SHUTDOWN_TIMEOUT, closes the
// metrics listener (last, so that the drain can be watched) and the
// database, and returns the first error.
func (a *App) stopOnSignal(ctx context.Context, stops ...func(context.Context) error) error {
	<-ctx.Done()
	a.sdNotify("STOPPING=1")
	a.log.Info("shutting down", "deadline", a.cfg.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout.D())
	defer cancel()
	start := time.Now()
	var first error
	for _, stop := range append(stops, a.metricsSrv.Close, func(context.Context) error { return a.db.Close() }) {
		if err := stop(sctx); first == nil {
			first = err
		}
	}
	a.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return first
}

// services are the API's services, cached as configured, and its health
// checks.
type services struct {
	users    kura.UserService
	sessions kura.SessionService
	stats    kura.StatsService
	admin    kura.AdminService
	checks   []httpapi.HealthCheck
}

// services returns the API's services over the database: registering
// enqueues the welcome notification in the user's transaction, and
// users, sessions and statistics are cached as CACHE_TTL and
// STATS_CACHE_TTL say. The caches made are closed by Close.
func (a *App) services() (s services, err error) {
	sqlUsers := accounts.NewUserService(a.db)
	// Registering enqueues the welcome notification in the user's
	// transaction: it is delivered if and only if the user exists.
	sqlUsers.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
		return notify.EnqueueTx(ctx, a.jc, tx, notify.Welcome(u))
	}
	sqlSessions := accounts.NewSessionService(a.db, a.cfg.SessionTTL.D())
	a.wireFlows(sqlUsers, sqlSessions)
	s = services{
		users:    sqlUsers,
		admin:    sqlUsers,
		sessions: sqlSessions,
		stats:    store.NewStatsService(a.db),
		checks:   []httpapi.HealthCheck{httpapi.PingCheck("database", a.db)},
	}
	if a.cfg.StatsCacheTTL > 0 {
		statsCache, err := NewCache[kura.Stats](a, "stats", a.cfg.StatsCacheTTL.D())
		if err != nil {
			return s, err
		}
		s.stats = cached.NewStatsService(s.stats, statsCache)
	}
	if a.cfg.CacheTTL <= 0 {
		return s, nil
	}
	userCache, sessionCache, closeStrict, err := a.strictCaches()
	a.closers = append(a.closers, closeStrict)
	if err != nil {
		return s, err
	}
	a.addCache("user", userCache)
	a.addCache("session", sessionCache)
	cachedUsers := cached.NewUserService(s.users, userCache, a.log)
	cachedSessions := cached.NewSessionService(s.sessions, cachedUsers, sessionCache, a.log)
	sqlUsers.OnSessionsEnded = cachedSessions.EndSessions
	a.flowsHooks(cachedSessions.EndSessions, cachedUsers.Forget)
	s.users, s.sessions = cachedUsers, cachedSessions
	s.admin = cached.NewAdminService(sqlUsers, userCache, a.log)
	if a.cfg.RedisURL != "" {
		s.checks = append(s.checks, httpapi.HealthCheck{Name: "cache", Check: func(ctx context.Context) error {
			return errors.Join(userCache.Ping(ctx), sessionCache.Ping(ctx))
		}, Optional: true})
	}
	return s, nil
}

// NewCache returns a cache of V for the app, its entries living ttl
// (0: CACHE_TTL; cache.DefaultTTL when that is 0 too, as a cache of the
// app's own cannot be turned off by it), sized by CACHE_SIZE, under
// KURA_CACHE_PREFIX and name + ":", shared through REDIS_URL when it is
// set, its counters in the metrics under cache=name. The app closes it.
func NewCache[V any](a *App, name string, ttl time.Duration) (*cache.Cache[V], error) {
	if ttl <= 0 {
		ttl = a.cfg.CacheTTL.D()
	}
	c, err := newCacheOf[V](a.cfg.Cache(ttl, name+":"))
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, c.Close)
	a.addCache(name, c)
	return c, nil
}

// newCacheOf returns a cache of V configured by cfg.
func newCacheOf[V any](cfg cache.Config) (*cache.Cache[V], error) {
	c, err := cache.New[V](cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return c, nil
}
