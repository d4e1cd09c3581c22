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
	"as in db.MigrateUp(ctx, sqldb.Schema, jobs.Schema, app.Schema)")

// schemaTable is the table of Schema's latest version (kura_job_clients,
// version 2; the queue's own tables come with version 1): a database that
// has it has the whole schema. A later version that adds a table names it
// here.
const schemaTable = "kura_job_clients"

// checkTimeout bounds New's one query.
const checkTimeout = 10 * time.Second

// checkSchema returns ErrNoSchema, wrapped, if db lacks schemaTable, with
// one query of the engine's catalog. A database that cannot be asked is
// an error too: New is called after the migrations, which needed it.
func checkSchema(db DB) error {
	var q string
	switch db.Dialect() {
	case sqldb.SQLite:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	case sqldb.Postgres:
		q = "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = $1 AND schemaname = ANY (current_schemas(false))"
	default:
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	var n int
	if err := db.Reader().QueryRowContext(ctx, q, schemaTable).Scan(&n); err != nil {
		return fmt.Errorf("jobs: check the job queue's schema: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("jobs: %w (the table %s is missing)", ErrNoSchema, schemaTable)
	}
	return nil
}
