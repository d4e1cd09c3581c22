package cached

import (
	"context"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

// StatsService is a kura.StatsService whose figures are computed once per
// cache TTL (STATS_CACHE_TTL) however many ask: concurrent misses share one
// computation, and with Redis every instance shares the result.
type StatsService struct {
	next  kura.StatsService
	stats *cache.Cache[kura.Stats]
}

var _ kura.StatsService = (*StatsService)(nil)

// NewStatsService wraps next with stats, a cache whose TTL is how stale
// the figures may be.
func NewStatsService(next kura.StatsService, stats *cache.Cache[kura.Stats]) *StatsService {
	return &StatsService{next: next, stats: stats}
}

// Stats returns the cached figures, computing them on a miss.
func (s *StatsService) Stats(ctx context.Context) (*kura.Stats, error) {
	st, err := s.stats.GetOrLoad(ctx, "all", func(ctx context.Context) (kura.Stats, error) {
		st, err := s.next.Stats(ctx)
		if err != nil {
			return kura.Stats{}, err
		}
		return *st, nil
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}
