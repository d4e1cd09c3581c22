package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DatabaseTable holds the database's identity: one row with a random id,
// made by kura's migration 7 (on a database migrated before it, at its next
// migration). Backups record it as their source; a restore compares it with
// its target's.
const DatabaseTable = "kura_database"

// ErrNoIdentity is returned by Identity for a database without one: kura's
// migration 7 has not run on it.
var ErrNoIdentity = errors.New("the database has no identity yet: kura's migration 7 makes one (kura migrate up)")

// ReadIdentity returns the identity recorded in kura_database of the
// database q reads, which must have the table; ErrNoIdentity when it is
// empty.
func ReadIdentity(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM kura_database`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoIdentity
	}
	if err != nil {
		return "", fmt.Errorf("read the database's identity: %w", err)
	}
	return id, nil
}

// Identity returns the database's identity, or ErrNoIdentity when it has
// none yet.
func (db *DB) Identity(ctx context.Context) (string, error) {
	ok, err := db.tableExists(ctx, DatabaseTable)
	if err != nil {
		return "", db.sc.Err(fmt.Errorf("read the database's identity: %w", err))
	}
	if !ok {
		return "", ErrNoIdentity
	}
	id, err := ReadIdentity(ctx, db.reader)
	return id, db.sc.Err(err)
}
