package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// openDB opens the database of cfg, waiting for it up to wait while it
// cannot be reached; its error says what to check (sqldb.OpenWait).
func openDB(ctx context.Context, cfg sqldb.Config, wait time.Duration, log *slog.Logger) (*sqldb.DB, error) {
	return sqldb.OpenWait(ctx, cfg, wait, log)
}
