package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/kura-dev/kura"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// rebind turns a query written once for every engine into the engine's
// own: the ? placeholders become $1, $2... on PostgreSQL, and a timestamp
// column written as ts(col) is selected as is, except on SQLite, where it is
// read as text (CAST(col AS TEXT)) for timeCol to parse with the one layout
// kura stores: the driver would otherwise try several layouts for every
// value, allocating an error for each miss. Queries contain no ? or ts(
// inside literals. The service issues a small, fixed set of query shapes,
// so each is rewritten once and then served from a cache: the hot path
// does no string building.
//
// Now that every query of a Tx or of Read passes here, an application
// that builds many shapes (IN lists of every length) could grow the cache
// without end: it holds at most maxRebound queries, and a shape past that
// is rewritten on every call.
func (db *DB) rebind(q string) string {
	if r, ok := db.rebound.Load(q); ok {
		return r.(string)
	}
	r := rewriteTimes(q, db.dialect == SQLite)
	if db.dialect == Postgres {
		r = rebindDollar(r)
	}
	if db.reboundN.Add(1) <= maxRebound {
		db.rebound.Store(q, r)
	}
	return r
}

// maxRebound bounds the cache of rebound queries.
const maxRebound = 10000

// rewriteTimes replaces each ts(col) of q by CAST(col AS TEXT) when asText
// is set, and by col otherwise.
func rewriteTimes(q string, asText bool) string {
	var b strings.Builder
	for {
		i := strings.Index(q, "ts(")
		if i < 0 || i > 0 && isIdentByte(q[i-1]) {
			if i < 0 {
				b.WriteString(q)
				return b.String()
			}
			b.WriteString(q[:i+3])
			q = q[i+3:]
			continue
		}
		j := strings.IndexByte(q[i:], ')')
		if j < 0 {
			b.WriteString(q)
			return b.String()
		}
		col := q[i+3 : i+j]
		b.WriteString(q[:i])
		if asText {
			b.WriteString("CAST(" + col + " AS TEXT)")
		} else {
			b.WriteString(col)
		}
		q = q[i+j+1:]
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func rebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sqliteTimeLayout is how times are stored on SQLite: UTC, fixed width, so
// that text order is time order, and the same text that the schema's
// strftime('%Y-%m-%d %H:%M:%f', 'now') defaults produce.
const sqliteTimeLayout = "2006-01-02 15:04:05.000"

// now reads the clock once, in UTC, truncated to the precision the engine
// stores (milliseconds on SQLite, microseconds elsewhere), so that a time
// returned to the caller equals the time stored.
func (db *DB) now() time.Time {
	t := db.Now().UTC()
	if db.dialect == SQLite {
		return t.Truncate(time.Millisecond)
	}
	return t.Truncate(time.Microsecond)
}

// timeArg returns t as a query argument for the engine, truncated to the
// precision the engine stores (see now), so that a time compares and is
// stored the same way on every engine, whatever its zone: the drivers
// would otherwise round on one engine and truncate on another.
func (db *DB) timeArg(t time.Time) any {
	if db.dialect == SQLite {
		return t.UTC().Format(sqliteTimeLayout)
	}
	return t.UTC().Truncate(time.Microsecond)
}

// timeCol scans a timestamp column into a UTC time.Time, whether the driver
// delivers a time.Time or SQLite text.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*c.t = x.UTC()
		return nil
	case string:
		return c.parse(x)
	case []byte:
		return c.parse(string(x))
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

// nullTimeCol is a timeCol whose NULL is the zero time.
type nullTimeCol struct{ t *time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = time.Time{}
		return nil
	}
	return timeCol(c).Scan(v)
}

func (c timeCol) parse(s string) error {
	t, err := time.Parse("2006-01-02 15:04:05.999999999", s)
	if err != nil {
		return err
	}
	*c.t = t.UTC()
	return nil
}

// listNewestFirst is List (see there).
func listNewestFirst[T any](ctx context.Context, db *DB, opt kura.ListOptions, l NewestFirst[T]) (*kura.Page[T], error) {
	if err := opt.Normalize(); err != nil {
		return nil, err
	}
	if opt.Filter.Field != "" { // a list that filters applies it to l and clears it
		return nil, kura.FieldError(kura.EBADREQUEST, opt.Filter.Field, "This list cannot be filtered.")
	}
	var after int64
	if opt.Page == 0 && opt.Cursor != "" {
		var err error
		if after, err = kura.DecodeCursor(opt.Cursor); err != nil {
			return nil, err
		}
	}
	args := append([]any(nil), l.Args...)
	p := &kura.Page[T]{}
	err := db.ReadStale(ctx, func(q Querier) error {
		if opt.Page > 0 {
			p.Page, p.PerPage = opt.Page, opt.PerPage
			if err := q.QueryRowContext(ctx, l.Query(ListCount), args...).Scan(&p.Total); err != nil {
				return err
			}
			offset := int64(opt.Page-1) * int64(opt.PerPage)
			if offset >= p.Total {
				p.Items = []T{}
				return nil
			}
			var err error
			p.Items, err = QueryAll(ctx, db, q, l.Scan, l.Query(ListOffset), append(args, opt.PerPage, offset)...)
			return err
		}
		mode := ListFirst
		if after > 0 {
			mode, args = ListAfter, append(args, after)
		}
		items, err := QueryAll(ctx, db, q, l.Scan, l.Query(mode), append(args, opt.Limit+1)...)
		if err != nil {
			return err
		}
		p.Items = items
		if len(items) > opt.Limit {
			p.Items = items[:opt.Limit]
			p.NextCursor = kura.EncodeCursor(l.ID(items[opt.Limit-1]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ListQuery names one of the queries List runs for a NewestFirst list.
type ListQuery int

// The queries of a NewestFirst list (see NewestFirst.Query).
const (
	ListFirst  ListQuery = iota // the first keyset page: ... ORDER BY id DESC LIMIT ?
	ListAfter                   // a later keyset page: ... AND id < ? ORDER BY id DESC LIMIT ?
	ListCount                   // the count of an offset page: SELECT COUNT(*) ...
	ListOffset                  // an offset page: ... ORDER BY id DESC LIMIT ? OFFSET ?
)

// Query returns the text of one of the list's queries as List runs it
// (before Rebind), with Where's placeholders first, then the cursor's
// (ListAfter), then the limit and offset: what a store lists among its
// Statements, so that the plan checked is the plan served.
func (l NewestFirst[T]) Query(mode ListQuery) string {
	var conds []string
	if l.Where != "" {
		conds = append(conds, l.Where)
	}
	if mode == ListAfter {
		conds = append(conds, "id < ?")
	}
	from := " FROM " + l.Table
	if len(conds) > 0 {
		from += " WHERE " + strings.Join(conds, " AND ")
	}
	switch mode {
	case ListCount:
		return "SELECT COUNT(*)" + from
	case ListOffset:
		return "SELECT " + l.Columns + from + " ORDER BY id DESC LIMIT ? OFFSET ?"
	}
	return "SELECT " + l.Columns + from + " ORDER BY id DESC LIMIT ?"
}

// notFound maps sql.ErrNoRows to a kura.ENOTFOUND error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return kura.Errorf(kura.ENOTFOUND, "%s not found.", what)
	}
	return err
}

// uniqueViolation reports whether err is a unique violation and returns the
// name of the index (PostgreSQL, MySQL) or of the columns (SQLite).
func uniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) && myErr.Number == 1062 {
		// Duplicate entry 'value' for key 'users.users_email_key'
		// The key is after the last " for key ", never inside the value.
		key := ""
		if i := strings.LastIndex(myErr.Message, " for key "); i >= 0 {
			key = myErr.Message[i+len(" for key "):]
		}
		return key, true
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) && liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		// UNIQUE constraint failed: users.email
		_, cols, _ := strings.Cut(liteErr.Error(), "failed: ")
		return cols, true
	}
	return "", false
}

// foreignKeyViolation reports whether err is a foreign-key violation: a row
// that references a missing parent, such as a notification of a user that
// does not exist.
func foreignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		// ER_NO_REFERENCED_ROW_2, and its older form without the details.
		return myErr.Number == 1452 || myErr.Number == 1216
	}
	var liteErr *sqlite.Error
	return errors.As(err, &liteErr) && liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
