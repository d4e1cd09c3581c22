package notes

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// Config is the app's configuration. The zero Config serves on
// 127.0.0.1:8080 from the SQLite file ./data/kura.db, caching in process.
type Config struct {
	DB       sqldb.Config // DATABASE_URL and the pool
	Addr     string       // listen address; "" means httpapi.DefaultAddr
	RedisURL string       // shares the note cache between instances; "" keeps it in process
	CacheTTL time.Duration
	Workers  int // jobs worked at once; 0 means jobs.DefaultConcurrency

	// Mail, if set, sends the share notice by mail too (an *mail.SMTP, or
	// mail.Log for development), from MailFrom; nil sends no mail.
	Mail     mail.Transport
	MailFrom string

	// ShutdownTimeout bounds the drain of requests and jobs once ctx ends;
	// 0 means 15 seconds.
	ShutdownTimeout time.Duration

	Logger *slog.Logger // nil means slog.Default()

	// OnRequest is handed to the HTTP server: a metrics hook.
	OnRequest func(httpapi.RequestInfo)
	// Listening, if set, is called with the base URL once the server
	// accepts connections.
	Listening func(url string)
}

// Run runs the app until ctx ends: it opens the database, applies kura's
// migrations and then the app's, starts the job workers and serves kura's
// users API with the notes routes beside it. When ctx ends it stops
// accepting, drains the requests in flight, stops the workers (running
// jobs finish or are handed back) and closes the cache and the pools,
// within ShutdownTimeout.
func Run(ctx context.Context, cfg Config) (err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg.DB.Logger = log
	db, err := sqldb.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema, mail.Schema, Schema); err != nil {
		return err
	}

	users := accounts.NewUserService(db)
	notifications := store.NewNotificationService(db)
	// Workers are registered before jobs.New, which takes them as they
	// are; the share worker reads notes through the store, which enqueues
	// through the client, so it gets the store once both exist.
	workers := jobs.NewWorkers()
	shared := &SharedWorker{Users: users, Notifications: notifications}
	shared.AddTo(workers)
	m, err := newMailer(db, cfg, workers, log)
	if err != nil {
		return err
	}
	jc, err := jobs.New(db, jobs.Config{Workers: workers, Concurrency: cfg.Workers, Logger: log})
	if err != nil {
		return err
	}
	noteStore := NewStore(db, jc)
	shared.Notes = noteStore
	if m != nil {
		m.SetJobs(jc) // after it
		if noteStore.Mail, err = NewShareMail(db, m); err != nil {
			return err
		}
	}

	noteCache, err := cache.New[Note](cache.Config{TTL: cfg.CacheTTL, RedisURL: cfg.RedisURL, Prefix: "notes:note:"}, nil)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer noteCache.Close()

	checks := []httpapi.HealthCheck{httpapi.PingCheck("database", db)}
	if cfg.RedisURL != "" { // optional: Redis down is "degraded", still 200
		checks = append(checks, httpapi.HealthCheck{Name: "cache", Check: noteCache.Ping, Optional: true})
	}
	srv := httpapi.NewServer(httpapi.Config{
		Addr:          cfg.Addr,
		Users:         users,
		Sessions:      accounts.NewSessionService(db, 0),
		Notifications: notifications,
		Checks:        checks,
		Logger:        log,
		OnRequest:     cfg.OnRequest,
	})
	Routes(srv, NewCached(noteStore, noteCache, log))

	// The workers get a context the signal does not cancel: they stop
	// after the HTTP server has drained.
	if err := jc.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := srv.Open(); err != nil {
		jc.Stop(ctx)
		return err
	}
	log.Info("notes serving", "url", srv.URL(), "engine", string(db.Dialect()))
	if cfg.Listening != nil {
		cfg.Listening(srv.URL())
	}
	<-ctx.Done()

	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	log.Info("shutting down", "deadline", timeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err = srv.Close(sctx)
	if jerr := jc.Stop(sctx); err == nil {
		err = jerr
	}
	log.Info("stopped", "err", err)
	return err
}

// newMailer returns the mailer of cfg.Mail, its delivery worker registered
// with workers, or nil without mail.
func newMailer(db *sqldb.DB, cfg Config, workers *jobs.Workers, log *slog.Logger) (*mail.Mailer, error) {
	if cfg.Mail == nil {
		return nil, nil
	}
	m, err := mail.New(db, mail.Config{From: cfg.MailFrom, Transport: cfg.Mail, Logger: log})
	if err != nil {
		return nil, err
	}
	m.Workers(workers) // before jobs.New
	return m, nil
}
