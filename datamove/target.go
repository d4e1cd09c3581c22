package datamove

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kura-dev/kura/sqldb"
)

// target writes to the database a move copies into: rows in transactions
// that also hold their checkpoint. PostgreSQL's rows go through COPY.
type target struct {
	db  *sqldb.DB
	d   sqldb.Dialect
	pgx *pgxpool.Pool // PostgreSQL only
}

func newTarget(db *sqldb.DB, writers int) (*target, error) {
	t := &target{db: db, d: db.Dialect()}
	if t.d == sqldb.Postgres {
		p, err := db.PgxPool(int32(writers) + 1)
		if err != nil {
			return nil, err
		}
		t.pgx = p
	}
	return t, nil
}

func (t *target) close() {
	if t.pgx != nil {
		t.pgx.Close()
	}
}

// ttx is a transaction on the target.
type ttx interface {
	exec(ctx context.Context, query string, args ...any) error
	insert(ctx context.Context, tb *table, rows [][]any) error
	commit(ctx context.Context) error
	rollback(ctx context.Context)
}

// begin starts a transaction on the target.
func (t *target) begin(ctx context.Context) (ttx, error) {
	if t.pgx != nil {
		tx, err := t.pgx.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return pgTx{tx, t.db}, nil
	}
	tx, err := t.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqlTx{tx: tx, db: t.db, d: t.d}, nil
}

// inTx runs fn in a transaction on the target, committed when fn returns
// nil.
func (t *target) inTx(ctx context.Context, fn func(tx ttx) error) error {
	tx, err := t.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.rollback(ctx)
		return err
	}
	return tx.commit(ctx)
}

// retry runs fn in a transaction like inTx, again when the engine chose
// it as a deadlock's victim (writers that run at once may meet in an
// index, MySQL's gap locks of the checkpoints among them). fn runs whole
// each time.
func (t *target) retry(ctx context.Context, fn func(tx ttx) error) error {
	for i := 0; ; i++ {
		err := t.inTx(ctx, fn)
		if err == nil || i == 4 || !deadlock(err) {
			return err
		}
	}
}

// deadlock says whether err is a deadlock or serialization failure, which
// a new try of the transaction resolves.
func deadlock(err error) bool {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213 || my.Number == 1205
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001"
	}
	return false
}

type pgTx struct {
	tx pgx.Tx
	db *sqldb.DB
}

func (p pgTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := p.tx.Exec(ctx, p.db.Rebind(query), args...)
	return err
}

func (p pgTx) insert(ctx context.Context, tb *table, rows [][]any) error {
	names := make([]string, len(tb.cols))
	for i, c := range tb.cols {
		names[i] = c.name
	}
	for _, r := range rows {
		for i, v := range r {
			r[i] = targetValue(v, tb.cols[i].kind, sqldb.Postgres)
		}
	}
	_, err := p.tx.CopyFrom(ctx, pgx.Identifier{tb.dst}, names, pgx.CopyFromRows(rows))
	return err
}

func (p pgTx) commit(ctx context.Context) error { return p.tx.Commit(ctx) }
func (p pgTx) rollback(ctx context.Context)     { p.tx.Rollback(context.WithoutCancel(ctx)) }

type sqlTx struct {
	tx *sql.Tx
	db *sqldb.DB
	d  sqldb.Dialect
}

func (s *sqlTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.tx.ExecContext(ctx, s.db.Rebind(query), args...)
	return err
}

// maxParams keeps a statement's placeholders under SQLite's and MySQL's
// limits.
const maxParams = 30000

// insert writes rows with multi-row INSERTs.
func (s *sqlTx) insert(ctx context.Context, tb *table, rows [][]any) error {
	per := max(1, maxParams/len(tb.cols))
	cols := make([]string, len(tb.cols))
	for i, c := range tb.cols {
		cols[i] = quote(s.d, c.name)
	}
	head := "INSERT INTO " + quote(s.d, tb.dst) + " (" + strings.Join(cols, ", ") + ") VALUES "
	phs := make([]string, len(cols))
	for i := range phs {
		phs[i] = "?"
		if tb.dstPh != nil {
			phs[i] = tb.dstPh[i]
		}
	}
	one := "(" + strings.Join(phs, ", ") + ")"
	args := make([]any, 0, per*len(cols))
	for len(rows) > 0 {
		n := min(per, len(rows))
		args = args[:0]
		for _, r := range rows[:n] {
			for i, v := range r {
				args = append(args, targetValue(v, tb.cols[i].kind, s.d))
			}
		}
		q := head + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
		if _, err := s.tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (s *sqlTx) commit(context.Context) error { return s.tx.Commit() }
func (s *sqlTx) rollback(context.Context)     { s.tx.Rollback() }

// resetSerial moves the target's identity or serial sequence of tb past
// its largest key, so that the next insert succeeds. SQLite's
// AUTOINCREMENT and MySQL's AUTO_INCREMENT follow the rows written.
func (t *target) resetSerial(ctx context.Context, tb *table) error {
	if t.d != sqldb.Postgres || tb.serial == "" {
		return nil
	}
	q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(%s) FROM %s), 0) + 1, false)`,
		quote(t.d, tb.serial), quote(t.d, tb.dst))
	_, err := t.db.Writer().ExecContext(ctx, q, tb.dst, tb.serial)
	if err != nil {
		return fmt.Errorf("reset the sequence of %s.%s: %w", tb.dst, tb.serial, err)
	}
	return nil
}
