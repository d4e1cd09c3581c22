package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// The hot single-row reads (a user by id, the session behind a token) run
// as statements prepared once per connection on SQLite and MySQL: the
// SQLite driver keeps no statement cache, so an unprepared query is parsed
// and planned on every call, and the MySQL driver prepares, executes and
// closes a server-side statement per query, three exchanges instead of
// one. database/sql's *sql.Stmt prepares a statement on each connection of
// its pool the first time it runs there and reuses it after. PostgreSQL's
// driver (pgx) caches prepared statements per connection itself, so there
// the query runs on the pool as is.

// stmtKey names a prepared statement: a pool and a query as written.
type stmtKey struct {
	pool *sql.DB
	q    string
}

// stmt returns the statement of q (rebound) prepared on pool, preparing
// it the first time.
func (db *DB) stmt(ctx context.Context, pool *sql.DB, q string) (*sql.Stmt, error) {
	k := stmtKey{pool, q}
	if s, ok := db.stmts.Load(k); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := pool.PrepareContext(ctx, db.rebind(q))
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(k, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// closeStmts closes the prepared statements, at Close.
func (db *DB) closeStmts() {
	db.stmts.Range(func(k, s any) bool {
		s.(*sql.Stmt).Close()
		db.stmts.Delete(k)
		return true
	})
}

// ReadRow runs a query of one row (written with ? and ts(col), see
// Rebind) on the reader pool, always current, and scans the row into
// dest (a timestamp selected as ts(col) into Time). It is the hot path's
// read: within the pool's gate like every call, prepared once per
// connection on SQLite and MySQL, and on PostgreSQL through pgx itself,
// skipping database/sql's conversion of every value. Unlike Read's
// Querier it does not convert time arguments: pass a time through TimeArg.
// Errors: sql.ErrNoRows for no row, EUNAVAILABLE (see Unavailable).
func (db *DB) ReadRow(ctx context.Context, query string, args []any, dest ...any) error {
	return db.queryRow(ctx, db.reader, query, args, dest...)
}

// ReadRowStale is ReadRow for a read that may be slightly stale (see
// ReadStale): on a read replica that fits, if there are any, else on the
// reader pool. Without replicas it costs what ReadRow does.
func (db *DB) ReadRowStale(ctx context.Context, query string, args []any, dest ...any) error {
	if db.replicas == nil {
		return db.queryRow(ctx, db.reader, query, args, dest...)
	}
	return db.staleRead(ctx, func(pool *sql.DB) error { return db.queryRow(ctx, pool, query, args, dest...) })
}

// HasReplicas reports whether the DB reads from read replicas
// (Config.ReplicaURLs): a store that reads stale only for some callers
// asks it first, so that without replicas it pays for nothing more.
func (db *DB) HasReplicas() bool { return db.replicas != nil }

// queryRow runs a query of one row (written with ? and ts(), see Rebind)
// on pool within its gate, prepared per connection where that pays (see
// above), and scans the row into dest. It returns sql.ErrNoRows for no
// row, EUNAVAILABLE when no connection frees up within PoolTimeout or the
// database is out of reach (see Unavailable).
func (db *DB) queryRow(ctx context.Context, pool *sql.DB, q string, args []any, dest ...any) error {
	g, err := db.enter(ctx, pool)
	if err != nil {
		return err
	}
	defer g.leave()
	if db.dialect == Postgres {
		err := db.pgxQueryRow(ctx, pool, db.rebind(q), args, dest)
		if pool != db.writer && pool != db.reader {
			return err // a replica's: staleRead reads from the primary instead
		}
		return db.Unavailable(err)
	}
	st, err := db.stmt(ctx, pool, q)
	if err != nil {
		return db.Unavailable(err)
	}
	return db.Unavailable(st.QueryRowContext(ctx, args...).Scan(dest...))
}

// pgxQueryRow runs a one-row query on a connection of pool through pgx
// itself: database/sql's connection (its pool, pre-ping and limits stay
// as they are), but the query and the scan skip database/sql's conversion
// of every value through driver.Value, which cost a quarter of a hot
// read's time. pgx prepares and caches the statement per connection.
// A timestamp selected into a timeCol is scanned into its time.Time, as
// pgx does natively, then set to UTC as timeCol would: through timeCol's
// sql.Scanner pgx plans the scan anew and allocates four times per row.
func (db *DB) pgxQueryRow(ctx context.Context, pool *sql.DB, q string, args []any, dest []any) error {
	var times []*time.Time
	var nulls []nullScan // NullTime's columns: pgx scans NULL into a nil *time.Time
	for i, d := range dest {
		switch tc := d.(type) {
		case timeCol:
			dest[i] = tc.t
			times = append(times, tc.t)
		case nullTimeCol:
			nulls = append(nulls, nullScan{to: tc.t})
		}
	}
	for i, j := 0, 0; i < len(dest) && j < len(nulls); i++ {
		if _, ok := dest[i].(nullTimeCol); ok {
			dest[i] = &nulls[j].p
			j++
		}
	}
	c, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		return dc.(*stdlib.Conn).Conn().QueryRow(ctx, q, args...).Scan(dest...)
	})
	for _, t := range times {
		*t = t.UTC()
	}
	for _, n := range nulls {
		*n.to = time.Time{}
		if n.p != nil {
			*n.to = n.p.UTC()
		}
	}
	return err
}

// nullScan is where pgx scans a NullTime column, and where it goes.
type nullScan struct {
	p  *time.Time
	to *time.Time
}
