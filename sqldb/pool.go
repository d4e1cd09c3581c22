package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/kura-dev/kura"
)

// setPool applies the pool settings of the config to a server pool.
//
// database/sql closes a returned connection at once when more than
// MaxIdleConns are idle. Mapping PoolSize onto MaxIdleConns, as the guide's
// vocabulary suggests, therefore makes a pool under a load above PoolSize
// open and close a connection for nearly every query: measured on
// PostgreSQL with 32 concurrent clients, that churn cost 60% of the
// throughput and put p99 at half a second (docs/BENCHMARKS.md). So every
// connection up to PoolSize+MaxOverflow stays open while it is being
// reused, and the overflow is handed back when load drops: every
// ConnMaxIdle, idle connections beyond PoolSize are closed (see trimmer).
func (db *DB) setPool(p *sql.DB) {
	open := db.cfg.PoolSize + db.cfg.MaxOverflow
	p.SetMaxOpenConns(open)
	p.SetMaxIdleConns(open)
	p.SetConnMaxLifetime(max(db.cfg.ConnMaxAge, 0))
	if db.cfg.MaxOverflow > 0 && db.cfg.ConnMaxIdle > 0 {
		db.trim.start(p, db.cfg.PoolSize, open, db.cfg.ConnMaxIdle)
	}
}

// trimmer closes the idle overflow connections of a pool now and then, so
// that after a burst the pool shrinks back to its PoolSize.
type trimmer struct {
	stop chan struct{}
	done sync.WaitGroup
}

func (t *trimmer) start(p *sql.DB, keep, open int, every time.Duration) {
	t.stop = make(chan struct{})
	t.done.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				trimIdle(p, keep, open)
			}
		}
	})
}

// trimIdle closes the idle connections of p beyond keep: lowering
// MaxIdleConns closes the excess at once; raising it again lets the pool
// keep up to open connections for the next burst.
func trimIdle(p *sql.DB, keep, open int) {
	if p.Stats().Idle > keep {
		p.SetMaxIdleConns(keep)
		p.SetMaxIdleConns(open)
	}
}

// stopTrim stops the trimmer, if it runs, and waits for it. It may be
// called more than once.
func (db *DB) stopTrim() {
	if db.trim.stop != nil {
		select {
		case <-db.trim.stop:
		default:
			close(db.trim.stop)
		}
		db.trim.done.Wait()
	}
}

// gate admits at most as many service calls to a pool as the pool has
// connections, so that waiting for a connection happens here, bounded by
// PoolTimeout, and database/sql has a connection to hand to every call
// that got through. database/sql has no acquire timeout of its own; bounding
// its wait with a context per call would cost a timer on every query,
// where the gate's fast path is one channel send. Only service calls pass
// the gate, and Ping, which waits for a slot only briefly (see busyWait);
// migrations use the pool directly.
type gate chan struct{}

// errGateTimeout is the cause kept in the EUNAVAILABLE error of a call that
// found no free connection within PoolTimeout.
// It wraps kura.ErrBusy: the database answers, the pool has no room.
var errGateTimeout = fmt.Errorf("%w: no free connection within the pool timeout", kura.ErrBusy)

// enter takes a slot, waiting at most wait, or until ctx is done.
func (g gate) enter(ctx context.Context, wait time.Duration) error {
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errGateTimeout
	}
}

// leave gives the slot back.
func (g gate) leave() { <-g }

// conn is a connection held for one service call, with its gate slot.
type conn struct {
	*sql.Conn
	gate gate
}

// Close returns the connection to its pool, then leaves the gate.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.gate.leave()
	return err
}
