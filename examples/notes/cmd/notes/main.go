// Command notes serves the notes example app: kura's users API and the
// notes routes, on SQLite, PostgreSQL or MySQL/MariaDB.
//
//	DATABASE_URL=postgres://app@127.0.0.1/app go run ./examples/notes/cmd/notes
//
// It reads DATABASE_URL, NOTES_ADDR (default 127.0.0.1:8080), REDIS_URL
// and NOTES_CACHE_TTL (how long a note read is cached, a Go duration,
// default 5m) from the environment, and stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kura-dev/kura/examples/notes"
	"github.com/kura-dev/kura/sqldb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "notes:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	ttl := 5 * time.Minute
	if v := os.Getenv("NOTES_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("NOTES_CACHE_TTL: %q is not a positive duration such as 5m", v)
		}
		ttl = d
	}
	return notes.Run(ctx, notes.Config{
		DB:       sqldb.Config{URL: os.Getenv("DATABASE_URL")},
		Addr:     os.Getenv("NOTES_ADDR"),
		RedisURL: os.Getenv("REDIS_URL"),
		CacheTTL: ttl,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
}
