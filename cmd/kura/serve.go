package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/sqldb"
)

// serve runs the API until ctx is cancelled (SIGINT or SIGTERM), then stops
// accepting, drains in-flight requests and closes the pools within
// KURA_SHUTDOWN_TIMEOUT.
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

	var users kura.UserService = sqldb.NewUserService(db)
	checks := []httpapi.HealthCheck{httpapi.PingCheck("database", db)}
	if cfg.CacheTTL > 0 {
		c, err := cache.New[kura.User](cache.Config{
			TTL: cfg.CacheTTL.D(), Size: cfg.CacheSize, RedisURL: cfg.RedisURL, Prefix: cfg.CachePrefix + "user:",
		}, nil)
		if err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		defer c.Close()
		users = cache.NewUserService(users, c, logger)
		if cfg.RedisURL != "" {
			checks = append(checks, httpapi.HealthCheck{Name: "cache", Check: c.Ping, Optional: true})
		}
	}

	srv := httpapi.NewServer(httpapi.Config{
		Addr:     cfg.Addr,
		Users:    users,
		Sessions: sqldb.NewSessionService(db, cfg.SessionTTL.D()),
		Checks:   checks,
		Logger:   logger,
	})
	if err := srv.Open(); err != nil {
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
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return err
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
		if err := db.MigrateUp(ctx); err != nil {
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
