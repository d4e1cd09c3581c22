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
func (db *DB) rebind(q string) string {
	if r, ok := db.rebound.Load(q); ok {
		return r.(string)
	}
	r := rewriteTimes(q, db.dialect == SQLite)
	if db.dialect == Postgres {
		r = rebindDollar(r)
	}
	db.rebound.Store(q, r)
	return r
}

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

// timeArg returns t as a query argument for the engine.
func (db *DB) timeArg(t time.Time) any {
	if db.dialect == SQLite {
		return t.UTC().Format(sqliteTimeLayout)
	}
	return t.UTC()
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

func (c timeCol) parse(s string) error {
	t, err := time.Parse("2006-01-02 15:04:05.999999999", s)
	if err != nil {
		return err
	}
	*c.t = t.UTC()
	return nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// newestFirst describes a list of rows of table (those matching where, with
// args, if set) in id order, newest first.
type newestFirst[T any] struct {
	cols, table string
	where       string
	args        []any
	scan        func(rowScanner) (*T, error)
	id          func(*T) int64
}

// page is one page of a newestFirst list, in either mode of
// kura.ListOptions.
type page[T any] struct {
	items         []*T
	next          string
	page, perPage int
	total         int64
}

// listNewestFirst returns one page of l from the reader pool. Keyset mode
// (WHERE id < cursor ORDER BY id DESC LIMIT n+1) is served by an index
// ending in id, so a deep page costs what the first does, and the extra
// row tells whether a next page exists; offset mode also counts the rows.
// Errors: EINVALID (bad cursor or sizes), EUNAVAILABLE.
func listNewestFirst[T any](ctx context.Context, db *DB, opt kura.ListOptions, l newestFirst[T]) (page[T], error) {
	if err := opt.Normalize(); err != nil {
		return page[T]{}, err
	}
	var after int64
	if opt.Page == 0 && opt.Cursor != "" {
		var err error
		if after, err = kura.DecodeCursor(opt.Cursor); err != nil {
			return page[T]{}, err
		}
	}
	c, err := db.conn(ctx, db.reader)
	if err != nil {
		return page[T]{}, err
	}
	defer c.Close()
	var conds []string
	args := append([]any(nil), l.args...)
	if l.where != "" {
		conds = append(conds, l.where)
	}
	from := " FROM " + l.table
	if opt.Page > 0 {
		if len(conds) > 0 {
			from += " WHERE " + strings.Join(conds, " AND ")
		}
		p := page[T]{page: opt.Page, perPage: opt.PerPage}
		if err := c.QueryRowContext(ctx, db.rebind("SELECT COUNT(*)"+from), args...).Scan(&p.total); err != nil {
			return p, err
		}
		offset := int64(opt.Page-1) * int64(opt.PerPage)
		if offset >= p.total {
			p.items = []*T{}
			return p, nil
		}
		p.items, err = queryAll(ctx, db, c.Conn, l.scan, "SELECT "+l.cols+from+" ORDER BY id DESC LIMIT ? OFFSET ?", append(args, opt.PerPage, offset)...)
		return p, err
	}
	if after > 0 {
		conds, args = append(conds, "id < ?"), append(args, after)
	}
	if len(conds) > 0 {
		from += " WHERE " + strings.Join(conds, " AND ")
	}
	items, err := queryAll(ctx, db, c.Conn, l.scan, "SELECT "+l.cols+from+" ORDER BY id DESC LIMIT ?", append(args, opt.Limit+1)...)
	if err != nil {
		return page[T]{}, err
	}
	p := page[T]{items: items}
	if len(items) > opt.Limit {
		p.items = items[:opt.Limit]
		p.next = kura.EncodeCursor(l.id(items[opt.Limit-1]))
	}
	return p, nil
}

// queryAll runs q (rebound) on c and scans every row with scan; no rows is
// an empty, non-nil slice.
func queryAll[T any](ctx context.Context, db *DB, c *sql.Conn, scan func(rowScanner) (*T, error), q string, args ...any) ([]*T, error) {
	rows, err := c.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []*T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, rows.Err()
}

// userCols are the columns scanned by scanUser, in order (ts: see rebind).
const userCols = "id, email, username, role, ts(created_at), ts(updated_at)"

func scanUser(r rowScanner) (*kura.User, error) {
	var u kura.User
	if err := r.Scan(&u.ID, &u.Email, &u.Username, &u.Role, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}); err != nil {
		return nil, err
	}
	return &u, nil
}

// notFound maps sql.ErrNoRows to a kura.ENOTFOUND error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return kura.Errorf(kura.ENOTFOUND, "%s not found.", what)
	}
	return err
}

// conflict turns a unique violation on users.email or users.username into a
// kura.ECONFLICT error naming the field; other errors pass through.
func conflict(err error) error {
	name, ok := uniqueViolation(err)
	if !ok {
		return err
	}
	for _, field := range []string{"username", "email"} {
		if strings.Contains(name, field) {
			return &kura.Error{
				Code:    kura.ECONFLICT,
				Message: "This " + field + " is already taken.",
				Fields:  map[string]string{field: "is already taken"},
			}
		}
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
