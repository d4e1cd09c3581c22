package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
// (all are taken by calls, and more wait) is busy if a connection dialled
// outside it answers (see busyOrGone): Ping then returns a kura.Error with
// code EUNAVAILABLE wrapping kura.ErrBusy, rather than waiting until its
// context's deadline, so that a health check tells a saturated pool from a
// server out of reach. On SQLite the writer is
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
		return nil, db.busyOrGone(ctx)
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
			return nil, db.busyOrGone(ctx)
		}
		return nil, err
	}
	return &conn{Conn: c, gate: g}, nil
}

// busyOrGone is the error of a Ping that found every connection of the
// pool taken. On PostgreSQL and MySQL it first dials a connection of its
// own, outside the pool, and pings it: when the server answers, the pool
// is busy (kura.ErrBusy); when it does not, within ctx, the error is that
// of the dial, not busy. At the start of an outage where the server stops
// answering (a network that drops packets, a server that hangs), the pool
// fills with calls waiting on it, and a full pool alone would be reported
// "busy" rather than "unreachable". The extra connection is made only
// while the pool is full, and closed at once. On SQLite a full pool is
// busy.
func (db *DB) busyOrGone(ctx context.Context) error {
	if db.connector == nil {
		return db.busy()
	}
	c, err := db.connector.Connect(ctx)
	if err == nil {
		if p, ok := c.(driver.Pinger); ok {
			err = p.Ping(ctx)
		}
		c.Close()
	}
	if err != nil {
		return fmt.Errorf("every connection of the pool is taken, and a new one does not answer: %w", err)
	}
	return db.busy()
}

// busy is the error of a Ping that found the pool busy.
func (db *DB) busy() error {
	return &kura.Error{Code: kura.EUNAVAILABLE, Message: busyMessage, Err: errPingBusy}
}
