package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kura-dev/kura"
)

// DB is an open database: its dialect and its connection pools. Every
// service of this package takes one. For SQLite it holds two pools, a
// writer of exactly one connection and a reader of several; for PostgreSQL
// and MySQL both are the same pool.
type DB struct {
	// Now is the clock the services read once per operation (session
	// creation and expiry). It defaults to time.Now; tests replace it
	// before use.
	Now func() time.Time

	dialect  Dialect
	writer   *sql.DB
	reader   *sql.DB
	cfg      Config
	log      *slog.Logger
	sc       scrubber
	pgConfig *pgx.ConnConfig // PostgreSQL: the parsed, checked connection settings
	// connector dials a connection of its own, outside the pool, on
	// PostgreSQL and MySQL: Ping's check that a full pool's server answers.
	connector driver.Connector
	rebound   sync.Map     // query with ? -> query with $n, on PostgreSQL
	reboundN  atomic.Int64 // queries stored in rebound (see maxRebound)
	stmts     sync.Map     // stmtKey -> *sql.Stmt: hot reads prepared per connection
	trim      trimmer
	replicas  *replicaSet // nil without Config.ReplicaURLs

	// writeGate and readGate admit service calls to the writer and reader
	// pools; one gate when both are the same pool.
	writeGate, readGate gate
	// pools counts the writer's and the reader's gate waits and acquire
	// timeouts (poolstats.go).
	pools [2]poolCounters
}

// Open opens the database that cfg.URL names, sets up its pools and checks
// that it answers, within ConnectTimeout. It refuses an unencrypted
// connection to a server that is not local unless cfg.AllowInsecure is set.
// Its errors never contain the password. Call MigrateUp to create or update
// the schema, and Close when done.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	cfg = cfg.WithDefaults()
	d, err := ParseDialect(cfg.URL)
	if err != nil {
		return nil, err
	}
	sc := scrubber(secrets(cfg.URL))
	for _, u := range cfg.ReplicaURLs {
		sc = append(sc, secrets(u)...) // a replica's errors are scrubbed of its password too
	}
	db := &DB{Now: time.Now, dialect: d, cfg: cfg, log: cfg.Logger, sc: sc}
	switch d {
	case SQLite:
		err = db.openSQLite(ctx)
	case Postgres:
		err = db.openPostgres()
	case MySQL:
		err = db.openMySQL()
	}
	if err != nil {
		return nil, db.sc.Err(fmt.Errorf("open %s database: %w", d, err))
	}
	pctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	if err := db.ping(pctx, db.writer); err != nil {
		db.Close()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s", ConnectTimeout)
		}
		return nil, db.sc.Err(fmt.Errorf("connect to %s database %s: %w", d, RedactURL(cfg.URL), err))
	}
	db.writeGate = make(gate, db.writer.Stats().MaxOpenConnections)
	db.readGate = db.writeGate
	if db.reader != db.writer {
		db.readGate = make(gate, db.reader.Stats().MaxOpenConnections)
	}
	if len(cfg.ReplicaURLs) > 0 {
		if err := db.openReplicas(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Close closes the pools. It waits for nothing: callers stop using the DB
// first.
func (db *DB) Close() error {
	db.stopTrim()
	db.closeStmts()
	var err error
	if db.replicas != nil {
		err = db.replicas.close()
	}
	err = errors.Join(err, db.writer.Close())
	if db.reader != db.writer {
		err = errors.Join(err, db.reader.Close())
	}
	return err
}

func (db *DB) ping(ctx context.Context, p *sql.DB) error {
	var one int
	return p.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Dialect returns the engine of the database.
func (db *DB) Dialect() Dialect { return db.dialect }

// Reader returns the pool for reads. On SQLite it is a pool of read-only
// connections; elsewhere it is the same pool as Writer. A query run on it
// directly runs as written: pass it through Rebind and its times through
// TimeArg, or use Read, which does both.
func (db *DB) Reader() *sql.DB { return db.reader }

// Writer returns the pool for writes. On SQLite it holds exactly one
// connection whose transactions begin IMMEDIATE. A query run on it
// directly runs as written (see Reader); InTx rebinds and converts.
func (db *DB) Writer() *sql.DB { return db.writer }

// Stats returns a snapshot of the pool statistics. On SQLite it is the sum
// of the writer and reader pools (MaxOpenConnections included).
func (db *DB) Stats() sql.DBStats {
	s := db.writer.Stats()
	if db.reader == db.writer {
		return s
	}
	r := db.reader.Stats()
	s.MaxOpenConnections += r.MaxOpenConnections
	s.OpenConnections += r.OpenConnections
	s.InUse += r.InUse
	s.Idle += r.Idle
	s.WaitCount += r.WaitCount
	s.WaitDuration += r.WaitDuration
	s.MaxIdleClosed += r.MaxIdleClosed
	s.MaxIdleTimeClosed += r.MaxIdleTimeClosed
	s.MaxLifetimeClosed += r.MaxLifetimeClosed
	return s
}

// Message of the EUNAVAILABLE error returned when no connection frees up
// within PoolTimeout.
const busyMessage = "The database is busy; try again shortly."

// conn takes a connection from pool for one service call, waiting at most
// PoolTimeout for the pool's gate (see gate), and is then used with the
// caller's ctx. A wait that times out while ctx is still alive, or a server
// that cannot be reached, becomes a kura.Error with code EUNAVAILABLE. The
// caller must Close the connection, which also leaves the gate.
func (db *DB) conn(ctx context.Context, pool *sql.DB) (*conn, error) {
	g, err := db.enter(ctx, pool)
	if err != nil {
		return nil, err
	}
	c, err := pool.Conn(ctx)
	if err != nil {
		g.leave()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &kura.Error{Code: kura.EUNAVAILABLE, Message: unavailableMessage, Err: db.sc.Err(err)}
	}
	return &conn{Conn: c, gate: g}, nil
}

// enter takes a slot of pool's gate within PoolTimeout. A wait that times
// out while ctx is still alive is a kura.Error with code EUNAVAILABLE. The
// caller leaves the gate when done with the pool.
func (db *DB) enter(ctx context.Context, pool *sql.DB) (gate, error) {
	g := db.readGate
	if pool == db.writer {
		g = db.writeGate
	} else if pool != db.reader {
		g = db.replicaGate(pool)
	}
	if err := db.takeSlot(ctx, pool, g); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &kura.Error{Code: kura.EUNAVAILABLE, Message: busyMessage, Err: err}
	}
	return g, nil
}

// InTx runs fn in a transaction on the writer: it commits when fn returns
// nil and rolls back when fn returns an error or panics (re-panicking after
// the rollback). On SQLite the transaction begins IMMEDIATE, so it holds the
// write lock from the start and never fails with "database is locked"
// half-way. The connection is acquired within PoolTimeout (else
// EUNAVAILABLE), and a database lost during the transaction (see
// Unavailable) is EUNAVAILABLE too, whether fn, BEGIN or COMMIT met it.
// The Tx rebinds its queries and converts time arguments itself (see Tx).
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	c, err := db.conn(ctx, db.writer)
	if err != nil {
		return err
	}
	defer c.Close()
	if db.replicas == nil {
		return db.Unavailable(db.inTx(ctx, c.Conn, nil, fn))
	}
	// With read replicas: remember where the caller's write reached, for
	// their next reads (replica.go).
	caller := callerKey(ctx)
	err = db.Unavailable(db.inTx(ctx, c.Conn, &caller, fn))
	if err == nil && caller != "" {
		db.noteWrite(ctx, c.Conn, caller)
	}
	return err
}

func (db *DB) inTx(ctx context.Context, c *sql.Conn, caller *string, fn func(tx *Tx) error) (err error) {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
			return
		}
		if cerr := tx.Commit(); cerr != nil {
			err = fmt.Errorf("commit: %w", cerr)
		}
	}()
	return fn(&Tx{Tx: tx, db: db, caller: caller})
}
