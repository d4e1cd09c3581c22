package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// ErrNoSchema is the error New wraps when the database lacks the job
// queue's tables: Schema was not applied, or not its latest version.
var ErrNoSchema = errors.New("the database has no job queue schema: apply jobs.Schema first, " +
	"as in db.MigrateUp(ctx, store.Schema, jobs.Schema, app.Schema)")

// schemaTable is the table of Schema's latest version (kura_job_clients,
// version 2; the queue's own tables come with version 1): a database that
// has it has the whole schema. A later version that adds a table names it
// here.
const schemaTable = "kura_job_clients"

// checkTimeout bounds New's one query.
const checkTimeout = 10 * time.Second

// checkSchema returns ErrNoSchema, wrapped, if db lacks schemaTable, with
// one query of the engine's catalog (sqldb.HasTable). A database that cannot be asked is
// an error too: New is called after the migrations, which needed it.
func checkSchema(db DB) error {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	ok, err := sqldb.HasTable(ctx, db.Dialect(), db.Reader(), schemaTable)
	if err != nil {
		return fmt.Errorf("jobs: check the job queue's schema: %w", err)
	}
	if !ok {
		return fmt.Errorf("jobs: %w (the table %s is missing)", ErrNoSchema, schemaTable)
	}
	return nil
}
