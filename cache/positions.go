package cache

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/kura-dev/kura/internal/redisclient"
)

// Positions shares between instances the position each user's last
// write reached on the primary, so that a user's read on any instance
// waits for a read replica to have replayed it (sqldb.Config.Positions).
// Each position is a Redis string under Prefix+"lsn:"+caller that expires
// with the replicas' lag bound.
type Positions struct {
	client rueidis.Client
	prefix string
}

// positionTimeout bounds each exchange with Redis: a read that cannot
// learn the caller's position in time goes to the primary.
const positionTimeout = 100 * time.Millisecond

// NewPositions connects, lazily, to the Redis at redisURL; keys start
// with prefix. Close it when done.
func NewPositions(redisURL, prefix string) (*Positions, error) {
	client, err := redisclient.New(redisURL, "cache: RedisURL", nil)
	if err != nil {
		return nil, err
	}
	return &Positions{client: client, prefix: prefix + "lsn:"}, nil
}

// SetPosition stores lsn as caller's position for ttl.
func (p *Positions) SetPosition(ctx context.Context, caller string, lsn uint64, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, positionTimeout)
	defer cancel()
	cmd := p.client.B().Set().Key(p.prefix + caller).Value(strconv.FormatUint(lsn, 10)).Px(ttl).Build()
	return p.client.Do(ctx, cmd).Error()
}

// Position returns caller's stored position; false when none is stored.
func (p *Positions) Position(ctx context.Context, caller string) (uint64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, positionTimeout)
	defer cancel()
	s, err := p.client.Do(ctx, p.client.B().Get().Key(p.prefix+caller).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	lsn, err := strconv.ParseUint(s, 10, 64)
	return lsn, err == nil, err
}

// Close closes the connection.
func (p *Positions) Close() { p.client.Close() }
