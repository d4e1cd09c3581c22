package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"
)

// PoolStats is a snapshot of one connection pool, for a metrics endpoint.
// Counters only grow.
type PoolStats struct {
	// Name is "writer" or "reader" on SQLite, whose pools are apart, and
	// "main" on PostgreSQL and MySQL, which have one pool.
	Name string

	// DBStats are database/sql's figures for the pool: connections open,
	// in use, idle and the most allowed, the waits inside database/sql,
	// and connections closed for idleness or age.
	sql.DBStats

	// GateWaits counts service calls that found every connection of the
	// pool taken and waited at its gate (see Config.PoolTimeout);
	// GateWaitDuration is their total wait. Service calls wait there, not
	// in database/sql, whose WaitCount counts the other users of the pool
	// (jobs, pings, migrations).
	GateWaits        int64
	GateWaitDuration time.Duration

	// AcquireTimeouts counts service calls that found no free connection
	// within PoolTimeout and failed with EUNAVAILABLE (the API's 503).
	AcquireTimeouts int64
}

// poolCounters are the live figures of one pool that database/sql does
// not keep.
type poolCounters struct {
	gateWaits, gateWaitNanos, timeouts atomic.Int64
}

// PoolStats returns a snapshot of each pool: the writer and the reader on
// SQLite, the one pool ("main") elsewhere.
func (db *DB) PoolStats() []PoolStats {
	if db.reader == db.writer {
		return []PoolStats{db.poolStats("main", db.writer)}
	}
	return []PoolStats{db.poolStats("writer", db.writer), db.poolStats("reader", db.reader)}
}

func (db *DB) poolStats(name string, pool *sql.DB) PoolStats {
	pc := db.counters(pool)
	return PoolStats{
		Name:             name,
		DBStats:          pool.Stats(),
		GateWaits:        pc.gateWaits.Load(),
		GateWaitDuration: time.Duration(pc.gateWaitNanos.Load()),
		AcquireTimeouts:  pc.timeouts.Load(),
	}
}

// counters returns the counters of pool, the writer's when both pools are
// one.
func (db *DB) counters(pool *sql.DB) *poolCounters {
	if pool == db.writer {
		return &db.pools[0]
	}
	return &db.pools[1]
}

// takeSlot takes a slot of g, pool's gate, as g.enter does, and counts a
// wait and an acquire timeout: a wait that ends with errGateTimeout while
// ctx is alive, which the caller turns into EUNAVAILABLE. The fast path,
// a free slot, is one channel send, as before.
func (db *DB) takeSlot(ctx context.Context, pool *sql.DB, g gate) error {
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	pc := db.counters(pool)
	start := time.Now()
	err := g.enter(ctx, db.cfg.PoolTimeout)
	pc.gateWaits.Add(1)
	pc.gateWaitNanos.Add(int64(time.Since(start)))
	if errors.Is(err, errGateTimeout) && ctx.Err() == nil {
		pc.timeouts.Add(1)
	}
	return err
}
