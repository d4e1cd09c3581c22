package app

import (
	"context"
	"strconv"
	"time"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/sqldb"
)

// sharePositions shares the position of each user's last write between
// instances through REDIS_URL, for serve and worker with read replicas,
// so that a user's read on any instance sees their own write.
func (a *App) sharePositions(dbcfg *sqldb.Config) error {
	if len(dbcfg.ReplicaURLs) == 0 || a.cfg.RedisURL == "" {
		return nil
	}
	p, err := cache.NewPositions(a.cfg.RedisURL, a.cfg.CachePrefix)
	if err != nil {
		return err
	}
	a.positions, dbcfg.Positions = p, p
	return nil
}

func (a *App) closePositions() {
	if a.positions != nil {
		a.positions.Close()
		a.positions = nil
	}
}

// replicaNotes returns a /health note per read replica, named replica-1,
// replica-2, ... in the order of DATABASE_REPLICA_URLS (the public /health
// never names a host): "lag 0.4s" while it serves reads, "skipped (down)",
// "skipped (lags 7s)" or "skipped (not in recovery)" while it does not.
// A skipped replica never makes /health unhealthy: its reads go to the
// primary.
func (a *App) replicaNotes() []httpapi.HealthNote {
	var notes []httpapi.HealthNote
	for i := range a.db.ReplicaStats() {
		notes = append(notes, httpapi.HealthNote{Name: "replica-" + strconv.Itoa(i+1), Note: func(context.Context) string {
			r := a.db.ReplicaStats()[i]
			if !r.InUse {
				return "skipped (" + r.Skipped + ")"
			}
			return "lag " + r.Lag.Round(100*time.Millisecond).String()
		}})
	}
	return notes
}
