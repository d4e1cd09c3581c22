package sqldb

import (
	"context"
	"database/sql"
	"io"
)

// TrimIdle exposes the pool trimmer's step to the external tests.
var TrimIdle = trimIdle

// HoldConn takes a connection of pool the way a service call does, through
// the pool's gate, so a test can exhaust it.
func (db *DB) HoldConn(ctx context.Context, pool *sql.DB) (io.Closer, error) {
	c, err := db.conn(ctx, pool)
	if err != nil {
		return nil, err
	}
	return c, nil
}
