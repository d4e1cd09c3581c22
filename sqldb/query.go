package sqldb

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/kura-dev/kura"
)

// This file is the toolkit for writing queries once for every engine,
// used by kura's stores (package store) and by an application's own.

// Querier is what *sql.DB, *sql.Conn and *sql.Tx have in common: what a
// query helper needs to run on any of them. The Querier that Read hands
// out, and the Tx of InTx, run a query written once for every engine in
// the engine's form (see Tx): write ? placeholders and pass a time.Time as
// it is.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Scanner is a *sql.Row or *sql.Rows: what a function that scans one row
// takes.
type Scanner interface {
	Scan(dest ...any) error
}

var (
	_ Querier = (*sql.Tx)(nil)
	_ Querier = (*sql.Conn)(nil)
	_ Scanner = (*sql.Row)(nil)
)

// Rebind returns a query written once for every engine in the engine's
// own form. Write placeholders as ?, which become $1, $2, ... on
// PostgreSQL, and select a timestamp column as ts(col), which reads it in
// the form Time scans on every engine (as text on SQLite, where the
// driver would otherwise try several layouts per value). A query must not
// hold ? or ts( inside a literal, nor use PostgreSQL's ? operators (write
// jsonb_exists instead). Each query is rewritten once and then served from
// a cache, so Rebind costs a map lookup on the hot path. A query already
// in the $n form passes unchanged.
//
// The Tx of InTx, the Querier of Read and the helpers (QueryAll, Insert,
// Upsert, List) rebind on their own: call Rebind only for a query run on
// a pool or a connection taken by hand (Writer, Reader, WithWriter).
func (db *DB) Rebind(query string) string { return db.rebind(query) }

// Time returns a Scanner that stores a timestamp column in *t, in UTC, on
// every engine, whether it is selected as is or as ts(col) (see Rebind);
// scanning into a *time.Time directly works for a column selected as is,
// and fails loudly on SQLite for ts(col), which reads text. ts(col) with
// Time is the fastest read on SQLite, which is why kura's own hot reads
// use it.
func Time(t *time.Time) sql.Scanner { return timeCol{t} }

// NullTime is Time for a column that may be NULL, which scans as the
// zero time.
func NullTime(t *time.Time) sql.Scanner { return nullTimeCol{t} }

// TimeArg returns t as a query argument that compares and stores the same
// way on every engine as the timestamps Timestamp returns (on SQLite:
// fixed-width UTC text, so that text order is time order), truncated to
// the precision the engine stores. The Tx of InTx and the Querier of Read
// do this to every time.Time argument themselves; call TimeArg only for
// a query run on a pool or a connection taken by hand.
func (db *DB) TimeArg(t time.Time) any { return db.timeArg(t) }

// Timestamp reads the DB's clock (Now) once, in UTC, truncated to the
// precision the engine stores (milliseconds on SQLite, microseconds
// elsewhere), so that a time written and read back is equal. Read it once
// per operation.
func (db *DB) Timestamp() time.Time { return db.now() }

// Read runs fn with a connection of the reader pool (on SQLite a read-only
// one; elsewhere the one pool), taken within PoolTimeout: a pool that has
// no free connection by then gives a kura.Error with code EUNAVAILABLE
// instead of a wait without end; a database lost while fn runs (see
// Unavailable) is EUNAVAILABLE too. Use InTx for writes. The Querier
// rebinds its queries and converts time arguments itself, as a Tx does.
func (db *DB) Read(ctx context.Context, fn func(q Querier) error) error {
	c, err := db.conn(ctx, db.reader)
	if err != nil {
		return err
	}
	defer c.Close()
	return db.Unavailable(fn(bound{c.Conn, db}))
}

// ReadStale is Read for a read that may be slightly stale (a list, a
// count, a public view): with read replicas (Config.ReplicaURLs) it runs
// on one within the lag bound that has replayed the signed-in caller's own
// last write, and again on the primary if it fails there, so fn may run
// twice; without, it is Read.
func (db *DB) ReadStale(ctx context.Context, fn func(q Querier) error) error {
	if db.replicas == nil {
		return db.Read(ctx, fn)
	}
	return db.staleRead(ctx, func(pool *sql.DB) error {
		c, err := db.conn(ctx, pool)
		if err != nil {
			return err
		}
		defer c.Close()
		err = fn(bound{c.Conn, db})
		if pool != db.reader {
			return err
		}
		return db.Unavailable(err)
	})
}

// ScanAll scans every row of rows with scan and closes rows. No rows is an
// empty, non-nil slice, which encodes as [] rather than null.
func ScanAll[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, rows.Err()
}

// QueryAll runs query (rebound for the engine, see Rebind, with its time
// arguments converted) on q and scans every row with scan.
func QueryAll[T any](ctx context.Context, db *DB, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.bind(q).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return ScanAll(rows, scan)
}

// Insert runs an INSERT of one row (rebound for the engine, with its time
// arguments converted) on q, usually a transaction of InTx, and returns
// the id the database gave the row: with RETURNING id on PostgreSQL and
// SQLite, from LastInsertId on MySQL. The table's key must be a column
// named id.
func (db *DB) Insert(ctx context.Context, q Querier, query string, args ...any) (int64, error) {
	q = db.bind(q)
	if db.dialect == MySQL {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// Placeholders returns n comma-separated placeholders, "?, ?, ?", for an
// IN list; pass the values as separate arguments.
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// NotFound turns sql.ErrNoRows into a kura.Error with code ENOTFOUND and
// the message "<what> not found."; other errors pass through.
func NotFound(err error, what string) error { return notFound(err, what) }

// Conflict turns a unique violation whose index or constraint names one of
// fields into a kura.Error with code ECONFLICT naming that field ("This
// title is already taken.", fields {"title": "is already taken"}); other
// errors pass through. Name each unique index after its field (say
// notes_user_title_key for a title unique per user): the engines report
// the index (PostgreSQL, MySQL) or the columns (SQLite), and the first of
// fields found in that name wins, so list the more specific field first.
func Conflict(err error, fields ...string) error {
	name, ok := uniqueViolation(err)
	if !ok {
		return err
	}
	for _, field := range fields {
		if strings.Contains(name, field) {
			return &kura.Error{
				Code:    kura.ECONFLICT,
				Message: "This " + field + " is already taken.",
				Fields:  map[string]string{field: "is already taken"},
				Err:     err,
			}
		}
	}
	return err
}

// IsUniqueViolation reports whether err is a unique violation on any
// engine.
func IsUniqueViolation(err error) bool {
	_, ok := uniqueViolation(err)
	return ok
}

// IsForeignKeyViolation reports whether err is a foreign-key violation on
// any engine: a row that references a missing parent.
func IsForeignKeyViolation(err error) bool { return foreignKeyViolation(err) }

// NewestFirst describes a list of the rows of Table, newest first, for
// List: the rows matching Where (with Args), if set, in descending id
// order. Ids must follow insertion order (an auto-increment key), and an
// index must end in id after the columns of Where (the primary key alone
// when Where is empty; (user_id, id) for "user_id = ?"), so that a deep
// keyset page costs what the first does.
type NewestFirst[T any] struct {
	Columns string // the select list, in the order Scan reads them; a time as col (into a *time.Time) or ts(col) (with Time)
	Table   string
	Where   string // a condition with ? placeholders, or ""
	Args    []any  // the values of Where's placeholders; a time.Time as it is
	Scan    func(Scanner) (T, error)
	ID      func(T) int64 // the id of a scanned row, for the next cursor
}

// List returns one page of l from the reader pool, newest first. In keyset
// mode (WHERE id < cursor ORDER BY id DESC LIMIT n+1) the extra row tells
// whether a next page exists, and rows inserted between two pages are
// neither skipped nor repeated; offset mode also counts the rows.
// Errors: EINVALID (bad cursor or sizes), EUNAVAILABLE.
func List[T any](ctx context.Context, db *DB, opt kura.ListOptions, l NewestFirst[T]) (*kura.Page[T], error) {
	return listNewestFirst(ctx, db, opt, l)
}

// WithWriter runs fn with a connection of the writer pool (on SQLite the
// one writer connection), outside any transaction, taken within
// PoolTimeout like every service call's, so that other callers queue
// behind it at the pool's gate and meet EUNAVAILABLE, not a wait without
// end, if it holds the connection long. It is for statements that cannot
// run in a transaction or that set the session up, such as VACUUM.
func (db *DB) WithWriter(ctx context.Context, fn func(c *sql.Conn) error) error {
	c, err := db.conn(ctx, db.writer)
	if err != nil {
		return err
	}
	defer c.Close()
	return db.Unavailable(fn(c.Conn))
}
