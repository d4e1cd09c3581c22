package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
)

// serve runs the API, and KURA_WORKERS job workers, until ctx is cancelled
// (SIGINT or SIGTERM), then stops accepting, drains in-flight requests,
// stops the workers (running jobs finish or are handed back) and closes the
// pools, in that order, within KURA_SHUTDOWN_TIMEOUT.
func (m *Main) serve(ctx context.Context, args []string) error {
	fs, envFile := m.newFlagSet("serve", "serve [flags]")
	addr := fs.String("addr", "", "listen `address` (KURA_ADDR, default 127.0.0.1:8080)")
	migrate := fs.Bool("migrate", true, "apply pending migrations at start (KURA_AUTO_MIGRATE)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(m.environ(), *envFile)
	if err != nil {
		return err
	}
	if flagWasSet(fs, "addr") {
		cfg.Addr = *addr
	}
	if flagWasSet(fs, "migrate") {
		cfg.AutoMigrate = *migrate
	}
	logger := cfg.Logger(m.Stderr)

	db, err := m.openDB(ctx, &cfg, logger, cfg.AutoMigrate)
	if err != nil {
		return err
	}
	defer db.Close()

	jc, err := m.newJobs(&cfg, db, logger, cfg.Workers)
	if err != nil {
		return err
	}
	sqlUsers := sqldb.NewUserService(db)
	// Registering enqueues the welcome notification in the user's
	// transaction: it is delivered if and only if the user exists.
	sqlUsers.OnCreate = func(ctx context.Context, tx *sql.Tx, u *kura.User) error {
		return notify.EnqueueTx(ctx, jc, tx, notify.Welcome(u))
	}
	var users kura.UserService = sqlUsers
	var sessions kura.SessionService = sqldb.NewSessionService(db, cfg.SessionTTL.D())
	var stats kura.StatsService = sqldb.NewStatsService(db)
	checks := []httpapi.HealthCheck{httpapi.PingCheck("database", db)}
	if cfg.StatsCacheTTL > 0 {
		statsCache, err := newCache[kura.Stats](&cfg, cfg.StatsCacheTTL.D(), "stats:")
		if err != nil {
			return err
		}
		defer statsCache.Close()
		stats = cached.NewStatsService(stats, statsCache)
	}
	if cfg.CacheTTL > 0 {
		userCache, err := newCache[kura.User](&cfg, cfg.CacheTTL.D(), "user:")
		if err != nil {
			return err
		}
		defer userCache.Close()
		sessionCache, err := newCache[kura.Session](&cfg, cfg.CacheTTL.D(), "session:")
		if err != nil {
			return err
		}
		defer sessionCache.Close()
		cachedUsers := cached.NewUserService(users, userCache, logger)
		cachedSessions := cached.NewSessionService(sessions, cachedUsers, sessionCache, logger)
		sqlUsers.OnSessionsEnded = cachedSessions.EndSessions
		users, sessions = cachedUsers, cachedSessions
		if cfg.RedisURL != "" {
			checks = append(checks, httpapi.HealthCheck{Name: "cache", Check: func(ctx context.Context) error {
				return errors.Join(userCache.Ping(ctx), sessionCache.Ping(ctx))
			}, Optional: true})
		}
	}

	srv := httpapi.NewServer(httpapi.Config{
		Addr:     cfg.Addr,
		Users:    users,
		Sessions: sessions,
		Stats:    stats,
		Checks:   checks,
		Logger:   logger,

		Notifications: sqldb.NewNotificationService(db),
	})
	if cfg.Workers > 0 {
		// Not ctx: the workers stop after the HTTP server has drained.
		if err := jc.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	if err := srv.Open(); err != nil {
		jc.Stop(ctx)
		return err
	}
	logger.Info("kura serving", "url", srv.URL(), "engine", string(db.Dialect()), "version", kura.Version)
	if m.Listening != nil {
		m.Listening(srv.URL())
	}

	<-ctx.Done()
	logger.Info("shutting down", "deadline", cfg.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout.D())
	defer cancel()
	start := time.Now()
	err = srv.Close(sctx)
	if jerr := jc.Stop(sctx); err == nil {
		err = jerr
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return err
}

// schemas are the sets of migrations kura applies, in order: its own
// tables, then the job queue's.
var schemas = []*sqldb.Migrations{sqldb.Schema, jobs.Schema}

// newCache returns a cache of V, entries living ttl, under the deployment's prefix and kind
// (such as "user:"), shared through Redis when REDIS_URL is set.
func newCache[V any](cfg *Config, ttl time.Duration, kind string) (*cache.Cache[V], error) {
	c, err := cache.New[V](cache.Config{
		TTL: ttl, Size: cfg.CacheSize, RedisURL: cfg.RedisURL, Prefix: cfg.CachePrefix + kind,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return c, nil
}

// openDB opens the configured database, logs where it points (without its
// password) and, if migrate is set, applies pending migrations.
func (m *Main) openDB(ctx context.Context, cfg *Config, logger *slog.Logger, migrate bool) (*sqldb.DB, error) {
	dbcfg := cfg.DB(logger)
	db, err := sqldb.Open(ctx, dbcfg)
	if err != nil {
		return nil, err
	}
	logger.Info("database open", "engine", string(db.Dialect()), "url", sqldb.RedactURL(dbcfg.WithDefaults().URL),
		"pool_size", cfg.PoolSize, "max_overflow", cfg.MaxOverflow)
	if migrate {
		if err := db.MigrateUp(ctx, schemas...); err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	return db, nil
}

// loadAndOpen reads the configuration (environment over envFile) and opens
// the database, migrated if migrate is set, for a command without flags of
// its own that touch either.
func (m *Main) loadAndOpen(ctx context.Context, envFile string, migrate bool) (*sqldb.DB, error) {
	cfg, err := LoadConfig(m.environ(), envFile)
	if err != nil {
		return nil, err
	}
	return m.openDB(ctx, &cfg, cfg.Logger(m.Stderr), migrate)
}
