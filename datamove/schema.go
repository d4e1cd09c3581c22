package datamove

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// notMoved are the tables of kura's and the job queue's sets that a move
// leaves alone, with why. The target keeps its own rows of each.
var notMoved = map[string]string{
	sqldb.DatabaseTable:   "the database's identity: the target keeps its own",
	sqldb.InstancesTable:  "the running servers of the source, per process",
	sqldb.ReadOnlyTable:   "the source's read-only switch: the target's stays as it is (off)",
	"kura_job_clients":    "the job clients' heartbeats, per process",
	"cache_invalidations": "cache invalidations of the source's instances, read within seconds",
	"backup_runs":         "the history of the source's backups, which are not backups of the target",
	"river_migration":     "River's schema history: the target's own, from its migrations",
	"river_leader":        "River's leader election, per process",
	"river_client":        "River's clients, per process",
	"river_client_queue":  "River's clients' queues, per process",
	"river_queue":         "River's queue records, remade by the workers",
	"river_notification":  "River's notifications between processes",
	checkpointTable:       "this move's own checkpoints",
}

// jobTables are the job queue's tables: River's on PostgreSQL and SQLite,
// the jobs package's own on MySQL. Waiting jobs cross through jobsTable.
var jobTables = map[string]bool{"river_job": true, "kura_jobs": true}

// kind is how a column's values are compared and written, whatever the
// engine's name for its type.
type kind uint8

const (
	kText kind = iota
	kInt
	kFloat
	kBool
	kTime
	kBytes
	kJSON
)

// column is one column a move copies.
type column struct {
	name string
	kind kind
}

// table is one table a move copies: its columns, its primary key and, for
// the job queue, the expressions that read it in one shape on every engine.
type table struct {
	name     string   // the name in reports: the target's table
	src, dst string   // the table's name on the source and on the target
	cols     []column // in the order rows are read and written
	srcSel   []string // the source's select expression per column
	dstSel   []string // the target's select expression per column
	dstPh    []string // the target's placeholder per column for INSERT ("?" when nil)
	key      []int    // the primary key's columns, as indexes of cols
	srcWhere string   // a filter on the source's rows ("" for none)
	dstWhere string   // the same filter on the target's rows
	serial   string   // the target's identity or serial column, reset after the copy (PostgreSQL)
	selfRef  bool     // it references itself: its chunks are written in order
	parents  []string // the moved tables it references, itself aside
}

func quote(d sqldb.Dialect, name string) string {
	if d == sqldb.MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// listTables returns the base tables of db, by name.
func listTables(ctx context.Context, q querier, d sqldb.Dialect) ([]string, error) {
	var query string
	switch d {
	case sqldb.SQLite:
		query = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	case sqldb.Postgres:
		query = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	default:
		query = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`
	}
	names, err := strs(ctx, q, query)
	sort.Strings(names)
	return names, err
}

// colInfo is a column as the engine describes it.
type colInfo struct {
	name, typ string
	pk        int  // position in the primary key, 0 for none
	generated bool // computed by the engine: never written
	identity  bool // PostgreSQL identity or serial
}

// columns describes table's columns in their order.
func columns(ctx context.Context, q querier, d sqldb.Dialect, table string) ([]colInfo, error) {
	var rows *sql.Rows
	var err error
	switch d {
	case sqldb.SQLite:
		rows, err = q.QueryContext(ctx, `SELECT name, type, pk, hidden <> 0, 0 FROM pragma_table_xinfo(?) ORDER BY cid`, table)
	case sqldb.Postgres:
		rows, err = q.QueryContext(ctx, `SELECT c.column_name, c.data_type,
			COALESCE((SELECT array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + 1 FROM pg_index i
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = c.column_name
				WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND i.indisprimary AND a.attnum = ANY(i.indkey)), 0),
			c.is_generated = 'ALWAYS',
			c.is_identity = 'YES' OR COALESCE(c.column_default, '') LIKE 'nextval(%'
			FROM information_schema.columns c
			WHERE c.table_schema = current_schema() AND c.table_name = $1 ORDER BY c.ordinal_position`, table)
	default:
		rows, err = q.QueryContext(ctx, `SELECT c.column_name, c.column_type,
			COALESCE((SELECT k.ordinal_position FROM information_schema.key_column_usage k
				WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
				AND k.column_name = c.column_name AND k.constraint_name = 'PRIMARY'), 0),
			c.extra LIKE '%GENERATED%' OR c.extra LIKE '%VIRTUAL%' OR c.extra LIKE '%STORED%', 0
			FROM information_schema.columns c
			WHERE c.table_schema = DATABASE() AND c.table_name = ? ORDER BY c.ordinal_position`, table)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []colInfo
	for rows.Next() {
		var c colInfo
		if err := rows.Scan(&c.name, &c.typ, &c.pk, &c.generated, &c.identity); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// kindOf classifies an engine's column type.
func kindOf(d sqldb.Dialect, typ string) kind {
	t := strings.ToLower(typ)
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(t, x) {
				return true
			}
		}
		return false
	}
	switch {
	case d == sqldb.MySQL && strings.HasPrefix(t, "tinyint(1)"), has("bool"):
		return kBool
	case has("json"):
		return kJSON
	case has("timestamp", "datetime", "date"):
		return kTime
	case has("int"):
		return kInt
	case has("real", "floa", "doub"):
		return kFloat
	case has("blob", "bytea", "binary"):
		return kBytes
	}
	return kText
}

// mergeKind is the kind of a column whose types on the two engines say a
// and b: the more particular wins (a boolean stored as an integer is a
// boolean; a key stored as text on one engine and bytes on the other is
// text).
func mergeKind(a, b kind) kind {
	if a == b {
		return a
	}
	for _, k := range []kind{kBool, kJSON, kTime} {
		if a == k || b == k {
			return k
		}
	}
	if (a == kInt || a == kFloat) && (b == kInt || b == kFloat) {
		return kFloat
	}
	return kText
}

// describe builds the table a move copies from its description on both
// sides: the same columns by name, and a primary key.
func describe(ctx context.Context, src, dst querier, sd, dd sqldb.Dialect, name string) (*table, error) {
	sc, err := columns(ctx, src, sd, name)
	if err != nil {
		return nil, fmt.Errorf("describe the source's table %s: %w", name, err)
	}
	dc, err := columns(ctx, dst, dd, name)
	if err != nil {
		return nil, fmt.Errorf("describe the target's table %s: %w", name, err)
	}
	byName := map[string]colInfo{}
	for _, c := range sc {
		byName[c.name] = c
	}
	t := &table{name: name, src: name, dst: name}
	type keyCol struct{ pos, idx int }
	var keys []keyCol
	for _, c := range dc {
		if c.generated {
			continue
		}
		s, ok := byName[c.name]
		if !ok {
			return nil, fmt.Errorf("table %s: the source has no column %s: are both at the same schema version?", name, c.name)
		}
		delete(byName, c.name)
		if c.pk > 0 {
			keys = append(keys, keyCol{c.pk, len(t.cols)})
		}
		if c.identity {
			t.serial = c.name
		}
		col := column{name: c.name, kind: mergeKind(kindOf(sd, s.typ), kindOf(dd, c.typ))}
		t.cols = append(t.cols, col)
		t.srcSel = append(t.srcSel, selectExpr(sd, col))
		t.dstSel = append(t.dstSel, selectExpr(dd, col))
	}
	for n, c := range byName {
		if !c.generated {
			return nil, fmt.Errorf("table %s: the target has no column %s: are both at the same schema version?", name, n)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("table %s has no primary key: a move reads and resumes tables in key order", name)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].pos < keys[j].pos })
	for _, k := range keys {
		t.key = append(t.key, k.idx)
	}
	return t, nil
}

// selectExpr is how a column is read on engine d. SQLite's driver hands
// over an empty blob as nil, like NULL: bytes are read there as hex, after
// an "x" that NULL lacks; times as their text.
func selectExpr(d sqldb.Dialect, c column) string {
	q := quote(d, c.name)
	switch {
	case d == sqldb.SQLite && c.kind == kBytes:
		return "CASE WHEN " + q + " IS NULL THEN NULL ELSE 'x' || hex(" + q + ") END"
	case d == sqldb.SQLite && c.kind == kTime:
		return "CAST(" + q + " AS TEXT)" // parsed by fastTime, not by the driver's several layouts
	}
	return q
}

// jobsTable is the job queue's waiting jobs (available, scheduled,
// retryable, pending) in one shape on every engine: River's river_job on
// PostgreSQL and SQLite, the jobs package's kura_jobs on MySQL. A pending
// job (River's alone) arrives on MySQL as scheduled. Finished jobs stay
// behind, as history of the source.
func jobsTable(sd, dd sqldb.Dialect) *table {
	name := func(d sqldb.Dialect) string {
		if d == sqldb.MySQL {
			return "kura_jobs"
		}
		return "river_job"
	}
	t := &table{name: name(dd), src: name(sd), dst: name(dd), key: []int{0}}
	if dd == sqldb.Postgres {
		t.serial = "id"
	}
	cols := []column{{"id", kInt}, {"kind", kText}, {"queue", kText}, {"args", kJSON}, {"state", kText},
		{"priority", kInt}, {"attempt", kInt}, {"max_attempts", kInt}, {"created_at", kTime}, {"scheduled_at", kTime}}
	t.cols = cols
	for _, c := range cols {
		s, d := quote(sd, c.name), quote(dd, c.name)
		if c.name == "state" && dd == sqldb.MySQL && sd != sqldb.MySQL {
			s = "CASE WHEN state = 'pending' THEN 'scheduled' ELSE state END"
		}
		ph := "?"
		if c.name == "args" { // River keeps SQLite's JSON as binary JSONB
			if sd == sqldb.SQLite {
				s = "json(args)"
			}
			if dd == sqldb.SQLite {
				d, ph = "json(args)", "jsonb(?)"
			}
		}
		t.srcSel, t.dstSel, t.dstPh = append(t.srcSel, s), append(t.dstSel, d), append(t.dstPh, ph)
	}
	const waiting = "state IN ('available', 'scheduled', 'retryable', 'pending')"
	t.srcWhere, t.dstWhere = waiting, waiting
	return t
}

// foreignKeys returns, for each table of the target, the tables it
// references.
func foreignKeys(ctx context.Context, q querier, d sqldb.Dialect, tables []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, t := range tables {
		var refs []string
		var err error
		switch d {
		case sqldb.SQLite:
			refs, err = strs(ctx, q, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, t)
		case sqldb.Postgres:
			refs, err = strs(ctx, q, `SELECT DISTINCT c.confrelid::regclass::text FROM pg_constraint c
				WHERE c.contype = 'f' AND c.conrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass`, t)
		default:
			refs, err = strs(ctx, q, `SELECT DISTINCT referenced_table_name FROM information_schema.key_column_usage
				WHERE table_schema = DATABASE() AND table_name = ? AND referenced_table_name IS NOT NULL`, t)
		}
		if err != nil {
			return nil, fmt.Errorf("read the foreign keys of %s: %w", t, err)
		}
		for i, r := range refs {
			refs[i] = strings.Trim(r, `"`)
		}
		out[t] = refs
	}
	return out, nil
}

// parentsFirst orders tables so that a table comes after those it
// references (a reference to itself or to a table not moved aside).
func parentsFirst(tables []string, refs map[string][]string) []string {
	in := map[string]bool{}
	for _, t := range tables {
		in[t] = true
	}
	done := map[string]bool{}
	var out []string
	var visit func(t string, depth int)
	visit = func(t string, depth int) {
		if done[t] || depth > len(tables) {
			return
		}
		for _, r := range refs[t] {
			if r != t && in[r] {
				visit(r, depth+1)
			}
		}
		if !done[t] {
			done[t] = true
			out = append(out, t)
		}
	}
	for _, t := range tables {
		visit(t, 0)
	}
	return out
}

// querier is what a move reads through: a pool, a connection or a
// transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func strs(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s.String)
	}
	return out, rows.Err()
}
