package notes

import (
	"context"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// Run runs the notes app until ctx ends, as package app runs kura serve:
// every variable of cfg is honoured (the database and its pool, the wait
// for it at start, the caches, rate limits, metrics, scheduled backups of
// every table, the notes' too, drain and shutdown), and kura's users API
// is served with the notes routes beside it. opts says how the process is
// run (its log, its signals); the app's own parts are added by With.
func Run(ctx context.Context, cfg app.Config, opts app.Options) error {
	return app.Run(ctx, cfg, With(opts))
}

// With returns opts with the notes app in it: its migration set, applied
// after kura's, its job, and its routes over a store whose note reads are
// cached and, with mail on, whose shares are told by mail too.
func With(opts app.Options) app.Options {
	shared := &SharedWorker{}
	opts.Name = "notes"
	opts.Sets = []*sqldb.Migrations{Schema}
	opts.Jobs = func(a *app.App, ws *jobs.Workers) []jobs.PeriodicJob {
		// Workers are registered before the job client is made; the
		// share worker only reads notes, so its store enqueues nothing.
		shared.Users = accounts.NewUserService(a.DB())
		shared.Notifications = store.NewNotificationService(a.DB())
		shared.Notes = NewStore(a.DB(), nil)
		shared.AddTo(ws)
		return nil
	}
	opts.Routes = func(a *app.App, srv *httpapi.Server) error {
		store := NewStore(a.DB(), a.Jobs())
		if err := mailShares(a, store); err != nil {
			return err
		}
		noteCache, err := app.NewCache[Note](a, "note", 0)
		if err != nil {
			return err
		}
		Routes(srv, NewCached(store, noteCache, a.Logger()))
		return nil
	}
	return opts
}
