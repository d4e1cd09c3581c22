package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
)

// busyWait is how long Ping waits for a connection before it calls the pool
// busy (at most PoolTimeout). A call that waits longer than this is already
// queueing behind a full pool; a health check that waited its whole
// timeout there would report a saturated pool as an unreachable server.
const busyWait = 100 * time.Millisecond

// errPingBusy is the cause of Ping's EUNAVAILABLE error for a busy pool.
var errPingBusy = fmt.Errorf("%w: every connection is taken and calls are waiting", kura.ErrBusy)

// Ping checks that the database answers with a real round trip, on a
// connection of the reader pool taken through the pool's gate as a service
// call takes one. A pool that has no connection for it within busyWait
// (all are taken by calls, and more wait) is busy: Ping then returns a
// kura.Error with code EUNAVAILABLE wrapping kura.ErrBusy, at once rather
// than after its context's deadline, so that a health check tells a
// saturated pool from a server out of reach. On SQLite the writer is
// checked the same way before the reader. Other errors mean the database
// did not answer; they never contain the password.
func (db *DB) Ping(ctx context.Context) error {
	if db.writer != db.reader {
		c, err := db.pingConn(ctx, db.writer)
		if err != nil {
			return db.pingErr(err)
		}
		c.Close()
	}
	c, err := db.pingConn(ctx, db.reader)
	if err != nil {
		return db.pingErr(err)
	}
	defer c.Close()
	var one int
	if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return db.pingErr(err)
	}
	return nil
}

// pingErr wraps an error of Ping, scrubbed; a busy pool's error is already
// a kura.Error and comes back as it is.
func (db *DB) pingErr(err error) error {
	if kura.ErrorCode(err) == kura.EUNAVAILABLE {
		return err
	}
	return db.sc.Err(fmt.Errorf("ping %s database: %w", db.dialect, err))
}

// pingConn takes a connection of pool for Ping, waiting at most busyWait
// for a slot of its gate and, when the pool's connections are all in use
// (taken outside the gate, by a job queue on Writer), as long again for
// one of them; either wait running out is errPingBusy. Dialling a new
// connection is bounded by ctx alone.
func (db *DB) pingConn(ctx context.Context, pool *sql.DB) (*conn, error) {
	g := db.readGate
	if pool == db.writer {
		g = db.writeGate
	}
	wait := min(busyWait, db.cfg.PoolTimeout)
	if err := g.enter(ctx, wait); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, db.busy()
	}
	cctx := ctx
	if s := pool.Stats(); s.InUse >= s.MaxOpenConnections {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	c, err := pool.Conn(cctx)
	if err != nil {
		g.leave()
		if ctx.Err() == nil && cctx.Err() != nil {
			return nil, db.busy()
		}
		return nil, err
	}
	return &conn{Conn: c, gate: g}, nil
}

// busy is the error of a Ping that found the pool busy.
func (db *DB) busy() error {
	return &kura.Error{Code: kura.EUNAVAILABLE, Message: busyMessage, Err: errPingBusy}
}
