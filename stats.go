package kura

import (
	"context"
	"time"
)

// Stats is an aggregate of the service's users and sessions, the kind of
// expensive read that is computed by the database and cached.
type Stats struct {
	Users          int64     // all users
	NewUsers24h    int64     // users created in the last 24 hours
	NewUsers7d     int64     // users created in the last 7 days
	ActiveSessions int64     // sessions not yet expired
	ComputedAt     time.Time // when the figures were computed
}

// StatsService computes Stats.
type StatsService interface {
	// Stats returns the current figures. Errors: EUNAVAILABLE.
	Stats(ctx context.Context) (*Stats, error)
}
