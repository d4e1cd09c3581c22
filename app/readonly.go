package app

import (
	"context"
	"fmt"
	"time"

	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
)

// readOnlyApply returns what applies the database's read-only switch to
// this process (see startInstance): srv's writes (nil for worker) and,
// when working says this process works jobs, jc's workers, started in
// jobsCtx. On: writes are refused and those under way are waited for, and
// the workers stop taking jobs and let the running ones finish (or hand
// them back when ctx ends). Off: writes are accepted and the workers
// start. It is called by one goroutine at a time.
func (a *App) readOnlyApply(jobsCtx context.Context, srv *httpapi.Server, jc *jobs.Client, working bool) func(context.Context, bool) error {
	running := false
	return func(ctx context.Context, on bool) error {
		a.readOnly.Store(on)
		if srv != nil {
			if err := srv.SetReadOnly(ctx, on); err != nil {
				return fmt.Errorf("the writes under way did not finish: %w", err)
			}
		}
		switch {
		case !working:
		case on && running:
			running = false // a failed Stop has still stopped taking jobs
			return jc.Stop(ctx)
		case !on && !running:
			if err := jc.Start(jobsCtx); err != nil {
				return err
			}
			running = true
		}
		return nil
	}
}

// Words of /health's "read_only" note.
const (
	readOnlyNoteOn  = "on"  // writes answer 503 read_only; reads go on
	readOnlyNoteOff = "off" // writes are accepted
)

// readOnlyNote is /health's "read_only" note: "on" while this process
// refuses writes. It never changes /health's status: reads go on, so a
// load balancer keeps sending them.
func (a *App) readOnlyNote() httpapi.HealthNote {
	return httpapi.HealthNote{Name: "read_only", Note: func(context.Context) string {
		if a.readOnly.Load() {
			return readOnlyNoteOn
		}
		return readOnlyNoteOff
	}}
}

// readOnlyStore is the database as cached.Invalidations stores cache
// invalidations in it, except that old rows are not pruned in read-only
// mode: the database does not change then but for kura's own records of
// the instances.
type readOnlyStore struct {
	cached.InvalidationStore
	a *App
}

func (s readOnlyStore) PruneCacheInvalidations(ctx context.Context, before time.Time) error {
	if s.a.readOnly.Load() {
		return nil
	}
	return s.InvalidationStore.PruneCacheInvalidations(ctx, before)
}
