package notes

import (
	"context"

	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/datamove"
	"github.com/kura-dev/kura/sqldb"
)

// Sets are every migration set of the app, in the order package app
// applies them: kura's (app.Schema: its tables, the job queue's, the mail
// outbox's), then the app's own.
var Sets = append(append([]*sqldb.Migrations{}, app.Schema...), Schema)

// Move moves the app's data, kura's tables and the notes alike, from one
// database to another of any engine, verified and resumable, as kura data
// move does for kura's own (see package datamove): opts.Sets is the app's.
func Move(ctx context.Context, from, to *sqldb.DB, opts datamove.Options) (datamove.Report, error) {
	opts.Sets = Sets
	return datamove.Move(ctx, from, to, opts)
}
