package main

import (
	"context"
	"strconv"
	"time"

	"github.com/kura-dev/kura/httpapi"
)

// replicaNotes returns a /health note per read replica, named replica-1,
// replica-2, ... in the order of DATABASE_REPLICA_URLS (the public /health
// never names a host): "lag 0.4s" while it serves reads, "skipped (down)",
// "skipped (lags 7s)" or "skipped (not in recovery)" while it does not.
// A skipped replica never makes /health unhealthy: its reads go to the
// primary.
func (a *app) replicaNotes() []httpapi.HealthNote {
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
