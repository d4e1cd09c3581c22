package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// StatsService is the kura.StatsService of a database.
type StatsService struct {
	db *sqldb.DB
}

var _ kura.StatsService = (*StatsService)(nil)

// NewStatsService returns the stats service of db.
func NewStatsService(db *sqldb.DB) *StatsService { return &StatsService{db: db} }

// Stats counts users (all, and created in the last 24 hours and 7 days) in
// one scan and live sessions by the index on expires_at, on one reader
// connection, of a read replica if one fits (see ReadStale). Errors: EUNAVAILABLE.
func (s *StatsService) Stats(ctx context.Context) (*kura.Stats, error) {
	now := s.db.Timestamp()
	st := &kura.Stats{ComputedAt: now}
	err := s.db.ReadStale(ctx, func(q sqldb.Querier) error {
		err := q.QueryRowContext(ctx, qStatsUsers, now.Add(-24*time.Hour), now.Add(-7*24*time.Hour)).
			Scan(&st.Users, &st.NewUsers24h, &st.NewUsers7d)
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		if err = q.QueryRowContext(ctx, qStatsSessions, now).Scan(&st.ActiveSessions); err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}
