package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
)

// StatsService is the kura.StatsService of a database.
type StatsService struct {
	db *DB
}

var _ kura.StatsService = (*StatsService)(nil)

// NewStatsService returns the stats service of db.
func NewStatsService(db *DB) *StatsService { return &StatsService{db: db} }

// Stats counts users (all, and created in the last 24 hours and 7 days) in
// one scan and live sessions by the index on expires_at, on one reader
// connection. Errors: EUNAVAILABLE.
func (s *StatsService) Stats(ctx context.Context) (*kura.Stats, error) {
	now := s.db.now()
	c, err := s.db.conn(ctx, s.db.reader)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	defer c.Close()
	st := &kura.Stats{ComputedAt: now}
	err = c.QueryRowContext(ctx, s.db.rebind(qStatsUsers), s.db.timeArg(now.Add(-24*time.Hour)), s.db.timeArg(now.Add(-7*24*time.Hour))).
		Scan(&st.Users, &st.NewUsers24h, &st.NewUsers7d)
	if err != nil {
		return nil, fmt.Errorf("stats: users: %w", s.db.Unavailable(err))
	}
	err = c.QueryRowContext(ctx, s.db.rebind(qStatsSessions), s.db.timeArg(now)).
		Scan(&st.ActiveSessions)
	if err != nil {
		return nil, fmt.Errorf("stats: sessions: %w", s.db.Unavailable(err))
	}
	return st, nil
}
