// Command notes serves the notes example app: kura's users API and the
// notes routes, on SQLite, PostgreSQL or MySQL/MariaDB.
//
//	DATABASE_URL=postgres://app@127.0.0.1/app go run ./examples/notes/cmd/notes
//
// It reads kura's variables (the README's table: DATABASE_URL, KURA_ADDR,
// DB_POOL_SIZE, REDIS_URL, CACHE_TTL, KURA_RATE_LIMIT, KURA_METRICS_ADDR,
// KURA_BACKUP_INTERVAL, ...) from the environment and a .env file, as
// kura serve does, and stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/examples/notes"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), app.Signals...)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, app.Signals...)
	cfg, err := app.FromEnv()
	if err == nil {
		err = notes.Run(ctx, cfg, app.Options{Signals: signals})
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "notes:", err)
		os.Exit(1)
	}
}
