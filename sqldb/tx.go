package sqldb

import (
	"context"
	"database/sql"
	"time"
)

// Tx is the transaction InTx hands its function. Its query methods take a
// query written once for every engine and run it in the engine's form:
// they rebind it (see Rebind: ? becomes $1.. on PostgreSQL, ts(col) is
// read as text on SQLite) and pass each time argument the way the engine
// stores times (see TimeArg), so app code writes ? and a raw time.Time and
// calls neither. A query already in PostgreSQL's $n form passes unchanged.
//
// The embedded *sql.Tx is there for a library that takes one (River's
// drivers, say; jobs.Client.EnqueueTx takes a Tx as it is). Its methods
// that take a query are shadowed by Tx's own, so tx.ExecContext rebinds;
// tx.Tx.ExecContext runs the text as written.
type Tx struct {
	*sql.Tx
	db     *DB
	caller *string // whose reads must see this write once committed (see replica.go)
}

// ReadYourWrites makes the user with this id the caller whose reads must
// see this transaction's writes once it commits, for a write made before
// they are signed in: a new user, whose reads follow their registration.
// Without read replicas it does nothing. (A signed-in caller's writes are
// followed without asking: see Config.ReplicaURLs.)
func (tx *Tx) ReadYourWrites(id int64) {
	if tx.caller != nil && tx.db.replicas != nil {
		*tx.caller = userCaller(id)
	}
}

var (
	_ Querier = (*Tx)(nil)
	_ Querier = bound{}
)

// ExecContext runs a statement in the transaction (see Tx).
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return bound{tx.Tx, tx.db}.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction (see Tx).
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return bound{tx.Tx, tx.db}.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query of at most one row in the transaction (see
// Tx).
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return bound{tx.Tx, tx.db}.QueryRowContext(ctx, query, args...)
}

// PrepareContext prepares a statement of the transaction, rebound (see
// Tx); its arguments are passed as given, so pass a time through TimeArg.
func (tx *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return tx.Tx.PrepareContext(ctx, tx.db.rebind(query))
}

// Exec is ExecContext with the background context.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with the background context.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with the background context.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(context.Background(), query, args...)
}

// Prepare is PrepareContext with the background context.
func (tx *Tx) Prepare(query string) (*sql.Stmt, error) {
	return tx.PrepareContext(context.Background(), query)
}

// bound runs queries on q in the engine's form, as Tx does: what Read
// hands its function, and what the toolkit's helpers run a caller's
// Querier through.
type bound struct {
	q  Querier
	db *DB
}

func (b bound) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return b.q.ExecContext(ctx, b.db.rebind(query), b.db.args(args)...)
}

func (b bound) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return b.q.QueryContext(ctx, b.db.rebind(query), b.db.args(args)...)
}

func (b bound) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return b.q.QueryRowContext(ctx, b.db.rebind(query), b.db.args(args)...)
}

// bind returns q as it runs queries in the engine's form: q itself when
// it does already (a Tx, or what Read hands out), else q bound to db. It
// lets the helpers that take a Querier (QueryAll, Insert, Upsert) accept a
// raw *sql.Tx or *sql.Conn as well.
func (db *DB) bind(q Querier) Querier {
	switch q := q.(type) {
	case *Tx:
		return bound{q.Tx, q.db}
	case bound:
		return q
	}
	return bound{q, db}
}

// args returns args with every time converted as the engine stores it
// (see timeArg): a time.Time, a *time.Time (nil is NULL) and a
// sql.NullTime. A slice without one is returned as is, without copying.
func (db *DB) args(args []any) []any {
	for i, a := range args {
		switch a.(type) {
		case time.Time, *time.Time, sql.NullTime:
			out := make([]any, len(args))
			copy(out, args[:i])
			for j := i; j < len(args); j++ {
				out[j] = db.arg(args[j])
			}
			return out
		}
	}
	return args
}

// arg converts one argument as args does.
func (db *DB) arg(a any) any {
	switch t := a.(type) {
	case time.Time:
		return db.timeArg(t)
	case *time.Time:
		if t == nil {
			return nil
		}
		return db.timeArg(*t)
	case sql.NullTime:
		if !t.Valid {
			return nil
		}
		return db.timeArg(t.Time)
	}
	return a
}
