package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// serveCommand runs the API, and KURA_WORKERS job workers, until ctx is
// cancelled (SIGINT or SIGTERM), then reports itself draining on
// /health/ready for KURA_DRAIN_DELAY while still serving, stops accepting, drains in-flight
// requests, stops the workers (running jobs finish or are handed back) and
// closes the pools, in that order, within KURA_SHUTDOWN_TIMEOUT.
type serveCommand struct {
	m  *Main
	cf configFlags
}

var serveDoc = doc{
	synopsis: "serve [--addr ADDRESS] [--migrate=false] [--env-file FILE]",
	about: `Serve the users API and work background jobs until SIGINT or SIGTERM, applying
pending migrations first. On the signal it answers 503 "draining" on
/health/ready for KURA_DRAIN_DELAY while still serving (a second signal cuts
the delay short), then stops accepting, drains in-flight requests, stops the
job workers (running jobs finish, or are handed back to run again) and closes
the database, within KURA_SHUTDOWN_TIMEOUT.`,
	env: envLog | envDB | envStart | envHTTP | envCache | envMigrate | envMigrator | envJobs | envShutdown | envDrain | envMetrics | envBackup | envMail,
}

func (c *serveCommand) flags() *flag.FlagSet {
	fs := newFlagSet("serve", &c.cf)
	c.cf.bind(fs, "addr", "KURA_ADDR", "listen `address`")
	c.cf.bind(fs, "migrate", "KURA_AUTO_MIGRATE", "apply pending migrations at start")
	return fs
}

func (c *serveCommand) Usage(w io.Writer) { printUsage(w, serveDoc, c.flags()) }

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	// The port is bound before the database is opened or migrated: a
	// port another process holds fails at once and changes nothing.
	var ln net.Listener
	bind := func(cfg *Config) (err error) {
		ln, err = listen(cfg.Addr)
		return err
	}
	a, err := c.m.openServing(ctx, c, &c.cf, c.flags(), args, "serve", bind)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	defer a.Close()
	serving := false
	defer func() {
		if !serving {
			ln.Close()
		}
	}()
	jc, err := a.newJobs(c.m, a.cfg.Workers)
	if err != nil {
		return err
	}
	svc, closeCaches, err := a.services(jc)
	defer closeCaches()
	if err != nil {
		return err
	}
	limiter, closeLimiter, err := a.rateLimiter()
	defer closeLimiter()
	if err != nil {
		return err
	}
	srv := httpapi.NewServer(httpapi.Config{
		Addr:           a.cfg.Addr,
		Users:          svc.users,
		Sessions:       svc.sessions,
		Stats:          svc.stats,
		Notifications:  store.NewNotificationService(a.db),
		Accounts:       a.accountService(),
		Checks:         svc.checks,
		Notes:          append([]httpapi.HealthNote{a.backupNote(), a.readOnlyNote(), a.mailNote()}, a.replicaNotes()...),
		OnRequest:      a.onRequest(),
		Limiter:        limiter,
		RateLimits:     a.cfg.rateLimits(),
		TrustedProxies: a.cfg.trustedProxies(),
		Logger:         a.log,
		CORSOrigins:    a.cfg.corsOrigins(),
		Index:          index(),
		Idempotency:    store.NewIdempotencyStore(a.db),
	})
	a.metricsRoute(srv)
	if err := a.listenMetrics(); err != nil {
		return err
	}
	// The read-only switch is applied before serving: the workers start
	// only when it is off (not in ctx: they stop after the HTTP server has
	// drained).
	apply := a.readOnlyApply(context.WithoutCancel(ctx), srv, jc, a.cfg.Workers > 0)
	inst, err := a.startInstance(ctx, httpapi.URLOf(ln.Addr()), apply)
	if err != nil {
		jc.Stop(ctx)
		return err
	}
	if err := srv.Serve(ln); err != nil {
		inst.retire(ctx)
		jc.Stop(ctx)
		return err
	}
	serving = true // srv.Close closes ln from now on
	a.log.Info("kura serving", "url", srv.URL(), "engine", string(a.db.Dialect()), "version", kura.Version)
	if c.m.terminal(c.m.Stdout) {
		c.m.banner(ctx, a, srv.URL(), &c.cf)
	}
	a.ready()
	if c.m.Listening != nil {
		c.m.Listening(srv.URL())
	}
	return a.stopOnSignal(c.m.drained(ctx, a, srv), inst.halt, srv.Close, jc.Stop, inst.retire)
}

// services are the API's services, cached as configured, and its health
// checks.
type services struct {
	users    kura.UserService
	sessions kura.SessionService
	stats    kura.StatsService
	checks   []httpapi.HealthCheck
}

// services returns the API's services over the database: registering
// enqueues the welcome notification on jc in the user's transaction, and
// users, sessions and statistics are cached as CACHE_TTL and
// STATS_CACHE_TTL say. closeCaches closes the caches made, even on error.
func (a *app) services(jc *jobs.Client) (s services, closeCaches func(), err error) {
	var closers []func()
	closeCaches = func() {
		for _, c := range closers {
			c()
		}
	}
	sqlUsers := accounts.NewUserService(a.db)
	// Registering enqueues the welcome notification in the user's
	// transaction: it is delivered if and only if the user exists.
	sqlUsers.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
		return notify.EnqueueTx(ctx, jc, tx, notify.Welcome(u))
	}
	sqlSessions := accounts.NewSessionService(a.db, a.cfg.SessionTTL.D())
	a.wireFlows(sqlUsers, sqlSessions)
	s = services{
		users:    sqlUsers,
		sessions: sqlSessions,
		stats:    store.NewStatsService(a.db),
		checks:   []httpapi.HealthCheck{httpapi.PingCheck("database", a.db)},
	}
	if a.cfg.StatsCacheTTL > 0 {
		statsCache, err := newCache[kura.Stats](&a.cfg, a.cfg.StatsCacheTTL.D(), "stats:")
		if err != nil {
			return s, closeCaches, err
		}
		closers = append(closers, statsCache.Close)
		a.addCache("stats", statsCache)
		s.stats = cached.NewStatsService(s.stats, statsCache)
	}
	if a.cfg.CacheTTL <= 0 {
		return s, closeCaches, nil
	}
	userCache, sessionCache, closeStrict, err := a.strictCaches()
	closers = append(closers, closeStrict)
	if err != nil {
		return s, closeCaches, err
	}
	a.addCache("user", userCache)
	a.addCache("session", sessionCache)
	cachedUsers := cached.NewUserService(s.users, userCache, a.log)
	cachedSessions := cached.NewSessionService(s.sessions, cachedUsers, sessionCache, a.log)
	sqlUsers.OnSessionsEnded = cachedSessions.EndSessions
	a.flowsHooks(cachedSessions.EndSessions, cachedUsers.Forget)
	s.users, s.sessions = cachedUsers, cachedSessions
	if a.cfg.RedisURL != "" {
		s.checks = append(s.checks, httpapi.HealthCheck{Name: "cache", Check: func(ctx context.Context) error {
			return errors.Join(userCache.Ping(ctx), sessionCache.Ping(ctx))
		}, Optional: true})
	}
	return s, closeCaches, nil
}

// newCache returns a cache of V, entries living ttl, under the deployment's
// prefix and kind (such as "user:"), shared through Redis when REDIS_URL is
// set.
func newCache[V any](cfg *Config, ttl time.Duration, kind string) (*cache.Cache[V], error) {
	return newCacheOf[V](cfg.Cache(ttl, kind))
}

// newCacheOf returns a cache of V configured by cfg.
func newCacheOf[V any](cfg cache.Config) (*cache.Cache[V], error) {
	c, err := cache.New[V](cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return c, nil
}

// listen binds the API's address, KURA_ADDR, saying which variable to
// change when it cannot.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("KURA_ADDR (--addr) %s is in use by another process: stop it, or choose another address", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("KURA_ADDR (--addr) %s: not allowed to listen on a port below 1024: choose a port such as 8080, and put a proxy or load balancer on 80 and 443", addr)
	case err != nil:
		return nil, fmt.Errorf("KURA_ADDR (--addr): %w", err)
	}
	return ln, nil
}

// docsURL is where kura's documentation is read.
const docsURL = "https://github.com/kura-dev/kura#readme"

// index is what GET / answers: kura's name and where to go. The version
// is not shown to anonymous callers (kura version and the metrics'
// kura_build_info give it to operators).
func index() *httpapi.Index {
	return &httpapi.Index{Name: "kura", Links: map[string]string{
		"health": "/health",
		"live":   "/health/live",
		"api":    "/api/users",
		"docs":   docsURL,
	}}
}
