package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// querier is what the checksums read through: a *sql.DB, *sql.Conn or
// *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tableSums returns the row count and content checksum of every table of
// the database q reads, by name. The checksum is the sha256 of every row
// in primary-key order (all columns' order for a table without one), each
// value tagged with its type and length, so that NULL, ” and 0 differ and
// no two rows run together. Times are read in UTC. Two reads of the same
// content on the same engine give the same sums.
func tableSums(ctx context.Context, q querier, d sqldb.Dialect, pr *progress) ([]Table, error) {
	names, err := tableNames(ctx, q, d)
	if err != nil {
		return nil, err
	}
	pr.start("checksums", "tables", int64(len(names)))
	out := make([]Table, 0, len(names))
	for _, name := range names {
		t, err := tableSum(ctx, q, d, name)
		if err != nil {
			return nil, fmt.Errorf("checksum of table %s: %w", name, err)
		}
		out = append(out, t)
		pr.add(1)
	}
	return out, nil
}

// tableNames lists the base tables of the current schema (PostgreSQL), the
// current database (MySQL) or the main file (SQLite), by name.
func tableNames(ctx context.Context, q querier, d sqldb.Dialect) ([]string, error) {
	var query string
	switch d {
	case sqldb.SQLite:
		query = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	case sqldb.Postgres:
		query = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	case sqldb.MySQL:
		query = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`
	}
	names, err := strings1(ctx, q, query)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// primaryKey returns the columns of table's primary key, in key order.
func primaryKey(ctx context.Context, q querier, d sqldb.Dialect, table string) ([]string, error) {
	switch d {
	case sqldb.SQLite:
		rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, table)
		return scanStrings(rows, err)
	case sqldb.Postgres:
		return strings1(ctx, q, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND i.indisprimary
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, table)
	default:
		return strings1(ctx, q, `SELECT column_name FROM information_schema.key_column_usage
			WHERE table_schema = DATABASE() AND table_name = ? AND constraint_name = 'PRIMARY'
			ORDER BY ordinal_position`, table)
	}
}

func strings1(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	return scanStrings(rows, err)
}

func scanStrings(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func quote(d sqldb.Dialect, name string) string {
	if d == sqldb.MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func tableSum(ctx context.Context, q querier, d sqldb.Dialect, table string) (Table, error) {
	pk, err := primaryKey(ctx, q, d, table)
	if err != nil {
		return Table{}, err
	}
	order, err := orderBy(ctx, q, d, table, pk)
	if err != nil {
		return Table{}, err
	}
	rows, err := q.QueryContext(ctx, "SELECT * FROM "+quote(d, table)+" ORDER BY "+order)
	if err != nil {
		return Table{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Table{}, err
	}
	row := &rowBuf{}
	ptrs := make([]any, len(cols))
	for i := range ptrs {
		ptrs[i] = colScanner{row}
	}
	h := sha256.New()
	var n int64
	var pace pacer
	for rows.Next() {
		if n%256 == 0 {
			if err := pace.tick(ctx); err != nil {
				return Table{}, err
			}
		}
		row.b = row.b[:0]
		if err := rows.Scan(ptrs...); err != nil {
			return Table{}, err
		}
		h.Write(row.b)
		n++
	}
	if err := rows.Err(); err != nil {
		return Table{}, err
	}
	return Table{Name: table, Rows: n, Checksum: hex.EncodeToString(h.Sum(nil))}, nil
}

// orderBy is the ORDER BY list that reads table in a stable order: its
// primary key, or every column for a table without one.
func orderBy(ctx context.Context, q querier, d sqldb.Dialect, table string, pk []string) (string, error) {
	cols := pk
	if len(cols) == 0 {
		rows, err := q.QueryContext(ctx, "SELECT * FROM "+quote(d, table)+" LIMIT 0")
		if err != nil {
			return "", err
		}
		cols, err = rows.Columns()
		rows.Close()
		if err != nil {
			return "", err
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(d, c)
	}
	return strings.Join(quoted, ", "), nil
}

// AppendValue appends v to b as a type tag, a length and its bytes,
// allocating nothing for the types drivers return: the encoding of a value
// in every checksum of a table. NULL, "" and 0 differ, and no two values
// run together. Package datamove hashes rows with it too, after reading
// each value into one form per column type whatever the engine.
func AppendValue(b []byte, v any) []byte {
	var tmp [64]byte
	var p []byte
	var tag byte
	switch v := v.(type) {
	case nil:
		return append(b, 'N')
	case string:
		b = append(b, 's')
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	case []byte:
		b = append(b, 's')
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	case int64:
		tag, p = 'i', strconv.AppendInt(tmp[:0], v, 10)
	case float64:
		tag, p = 'f', binary.BigEndian.AppendUint64(tmp[:0], math.Float64bits(v))
	case bool:
		tag, p = 'b', strconv.AppendBool(tmp[:0], v)
	case time.Time:
		tag, p = 't', v.UTC().AppendFormat(tmp[:0], time.RFC3339Nano)
	default:
		tag, p = 'x', fmt.Appendf(nil, "%v", v)
	}
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// rowBuf is the encoding of the row being read; its columns' scanners
// append to it, in column order, straight from the driver's values.
type rowBuf struct{ b []byte }

type colScanner struct{ r *rowBuf }

func (c colScanner) Scan(src any) error {
	c.r.b = AppendValue(c.r.b, src)
	return nil
}

// compareSums says how got differs from want, or "" when they agree.
func compareSums(want, got []Table) string {
	g := make(map[string]Table, len(got))
	for _, t := range got {
		g[t.Name] = t
	}
	var diffs []string
	for _, w := range want {
		t, ok := g[w.Name]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("table %s is missing", w.Name))
		case t.Rows != w.Rows:
			diffs = append(diffs, fmt.Sprintf("table %s has %d rows, want %d", w.Name, t.Rows, w.Rows))
		case t.Checksum != w.Checksum:
			diffs = append(diffs, fmt.Sprintf("table %s's content differs (%d rows)", w.Name, t.Rows))
		}
		delete(g, w.Name)
	}
	for name := range g {
		diffs = append(diffs, fmt.Sprintf("table %s is not in the manifest", name))
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}
