package maintain

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// Indexes is the report of unused indexes: indexes that cost every write
// and disk space and that no reader has used. Unique and primary-key
// indexes are never listed: they enforce a constraint whether or not a
// query reads them.
type Indexes struct {
	// Available says whether the engine can tell; Reason says why not.
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	// Method is how use was measured.
	Method string `json:"method"`
	// Since is when the counts began (PostgreSQL's statistics reset,
	// MariaDB's server start), when known; "unused" covers the time from
	// then. SinceNote says what it is, or why it is unknown.
	Since     *time.Time `json:"since,omitempty"`
	SinceNote string     `json:"since_note,omitempty"`
	Unused    []Index    `json:"unused"`
	// Uncovered are the tables (SQLite) none of the statements reads, whose
	// indexes are not judged.
	Uncovered []string `json:"uncovered_tables,omitempty"`
	// Unexplained are the statements (SQLite) that could not be
	// explained, such as those of tables this database does not have,
	// with the error.
	Unexplained []string `json:"unexplained_statements,omitempty"`
}

// Index is one unused index.
type Index struct {
	Table   string `json:"table"`
	Name    string `json:"name"`
	Columns string `json:"columns,omitempty"`
	Bytes   int64  `json:"bytes,omitempty"` // its size, where the engine tells
}

// UnusedIndexes reports the indexes of the database's schema that are
// neither unique nor a primary key and that nothing has used: on
// PostgreSQL those with idx_scan = 0 in pg_stat_user_indexes since the
// statistics were reset; on MariaDB/MySQL those with no reads in
// information_schema.INDEX_STATISTICS (MariaDB with userstat on) or in
// performance_schema's index usage, when either is on (else the report
// says it is not available, and how to turn one on); on SQLite, which
// counts nothing, those that no plan of statements uses (EXPLAIN QUERY
// PLAN of each), among the tables the statements read.
func UnusedIndexes(ctx context.Context, db *sqldb.DB, statements []sqldb.Statement) (*Indexes, error) {
	var ix *Indexes
	var err error
	switch db.Dialect() {
	case sqldb.SQLite:
		ix, err = sqliteUnused(ctx, db, statements)
	case sqldb.Postgres:
		ix, err = pgUnused(ctx, db)
	case sqldb.MySQL:
		ix, err = myUnused(ctx, db)
	default:
		err = fmt.Errorf("unknown engine %q", db.Dialect())
	}
	if err != nil {
		return nil, fmt.Errorf("maintain: unused indexes: %w", err)
	}
	if ix.Unused == nil {
		ix.Unused = []Index{}
	}
	return ix, nil
}

// pgUnusedQuery lists the indexes of the search path's schemas never
// scanned, leaving out those that back a constraint (unique, primary key,
// exclusion).
const pgUnusedQuery = `
	SELECT s.schemaname || '.' || s.relname, s.indexrelname, pg_relation_size(s.indexrelid),
	       pg_get_indexdef(s.indexrelid)
	FROM pg_stat_user_indexes s
	JOIN pg_index i ON i.indexrelid = s.indexrelid
	WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
	  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
	  AND s.schemaname = ANY (current_schemas(false))
	ORDER BY 1, 2`

func pgUnused(ctx context.Context, db *sqldb.DB) (*Indexes, error) {
	ix := &Indexes{Available: true, Method: "pg_stat_user_indexes.idx_scan = 0"}
	var since sql.NullTime
	if err := db.Reader().QueryRowContext(ctx, "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()").Scan(&since); err != nil {
		return nil, err
	}
	if ix.Since = nullTime(since); ix.Since != nil {
		ix.SinceNote = "counts since the database's statistics were last reset (pg_stat_reset)"
	} else {
		ix.SinceNote = "the statistics were never reset: counts since the database was made, or since the server last lost them (a crash or an immediate shutdown)"
	}
	rows, err := db.Reader().QueryContext(ctx, pgUnusedQuery)
	if err != nil {
		return nil, err
	}
	ix.Unused, err = sqldb.ScanAll(rows, func(s sqldb.Scanner) (Index, error) {
		var i Index
		var def string
		err := s.Scan(&i.Table, &i.Name, &i.Bytes, &def)
		if open, close := strings.LastIndex(def, "("), strings.LastIndex(def, ")"); open >= 0 && close > open {
			i.Columns = def[open+1 : close]
		}
		return i, err
	})
	return ix, err
}

// myUnused uses MariaDB's INDEX_STATISTICS (userstat) or
// performance_schema's index usage, whichever is on.
func myUnused(ctx context.Context, db *sqldb.DB) (*Indexes, error) {
	userstat, err := myVariable(ctx, db, "userstat")
	if err != nil {
		return nil, err
	}
	pfs, err := myVariable(ctx, db, "performance_schema")
	if err != nil {
		return nil, err
	}
	var used string
	ix := &Indexes{Available: true}
	switch {
	case strings.EqualFold(userstat, "ON"):
		ix.Method = "information_schema.INDEX_STATISTICS (userstat)"
		used = `SELECT index_name FROM information_schema.index_statistics
			WHERE table_schema = DATABASE() AND table_name = s.table_name AND index_name = s.index_name`
	case strings.EqualFold(pfs, "ON"):
		ix.Method = "performance_schema.table_io_waits_summary_by_index_usage"
		used = `SELECT index_name FROM performance_schema.table_io_waits_summary_by_index_usage
			WHERE object_schema = DATABASE() AND object_name = s.table_name AND index_name = s.index_name AND count_star > 0`
	default:
		return &Indexes{Method: "none", Reason: "the server counts no index use: performance_schema and userstat are both OFF. " +
			"On MariaDB, SET GLOBAL userstat = 1 (and userstat = 1 in its configuration) starts counting at once; " +
			"performance_schema = ON (MySQL's default) needs a restart. Then let the app run a while before reading this report"}, nil
	}
	var uptime int64
	var name string
	if err := db.Reader().QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Uptime'").Scan(&name, &uptime); err != nil {
		return nil, err
	}
	start := time.Now().Add(-time.Duration(uptime) * time.Second).UTC().Truncate(time.Second)
	ix.Since = &start
	ix.SinceNote = "counts since the server started (or since FLUSH INDEX_STATISTICS / a truncation of the summary, if later)"
	q := `SELECT s.table_name, s.index_name, GROUP_CONCAT(s.column_name ORDER BY s.seq_in_index SEPARATOR ', ')
		FROM information_schema.statistics s
		WHERE s.table_schema = DATABASE() AND s.non_unique = 1
		  AND NOT EXISTS (` + used + `)
		GROUP BY s.table_name, s.index_name
		ORDER BY s.table_name, s.index_name`
	rows, err := db.Reader().QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	ix.Unused, err = sqldb.ScanAll(rows, func(s sqldb.Scanner) (Index, error) {
		var i Index
		err := s.Scan(&i.Table, &i.Name, &i.Columns)
		return i, err
	})
	return ix, err
}

// myVariable returns a server variable's value, "" when the server has
// no such variable.
func myVariable(ctx context.Context, db *sqldb.DB, name string) (string, error) {
	var n, v string
	err := db.Reader().QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE '"+name+"'").Scan(&n, &v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

// planIndex finds the index a line of EXPLAIN QUERY PLAN uses, such as
// "SEARCH users USING INDEX users_email_key (email=?)" or "USING COVERING
// INDEX x".
var planIndex = regexp.MustCompile(`USING (?:COVERING )?INDEX (\S+)`)

// sqliteIndex is an index of the schema that sqliteUnused may judge.
type sqliteIndex struct {
	Index
	judged bool // neither unique nor serving a foreign key
}

// sqliteUnused explains each statement and lists the indexes that no
// plan uses, among the tables some statement names. Unique indexes and
// those whose leading columns are a foreign key's are left out: the
// first enforce a constraint, the second serve the foreign key's checks
// and cascades, which no plan shows.
func sqliteUnused(ctx context.Context, db *sqldb.DB, statements []sqldb.Statement) (*Indexes, error) {
	ix := &Indexes{Available: true, Method: fmt.Sprintf("EXPLAIN QUERY PLAN of %d statements", len(statements)),
		SinceNote: "SQLite counts no index use: an index is unused when no plan of the statements checked uses it"}
	indexes, err := sqliteIndexes(ctx, db.Reader())
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	read := map[string]bool{}
	for _, st := range statements {
		plan, err := sqlitePlan(ctx, db, st.Query)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			ix.Unexplained = append(ix.Unexplained, st.Name+": "+err.Error())
			continue
		}
		for _, m := range planIndex.FindAllStringSubmatch(plan, -1) {
			used[m[1]] = true
		}
		for _, i := range indexes {
			if containsWord(st.Query, i.Table) {
				read[i.Table] = true
			}
		}
	}
	for _, i := range indexes {
		switch {
		case !read[i.Table]:
			if !slices.Contains(ix.Uncovered, i.Table) {
				ix.Uncovered = append(ix.Uncovered, i.Table)
			}
		case i.judged && !used[i.Name]:
			ix.Unused = append(ix.Unused, i.Index)
		}
	}
	return ix, nil
}

// sqlitePlan returns the lines of EXPLAIN QUERY PLAN of query, joined.
func sqlitePlan(ctx context.Context, db *sqldb.DB, query string) (string, error) {
	q := db.Rebind(query)
	rows, err := db.Reader().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, placeholders(q))...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		b.WriteString(detail + "\n")
	}
	return b.String(), rows.Err()
}

// placeholders counts the parameters of a SQLite query: its ? and the
// highest ?N.
func placeholders(q string) int {
	n, highest := 0, 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			continue
		}
		j := i + 1
		for j < len(q) && '0' <= q[j] && q[j] <= '9' {
			j++
		}
		if j == i+1 {
			n++
		} else if v, err := strconv.Atoi(q[i+1 : j]); err == nil {
			highest = max(highest, v)
		}
		i = j - 1
	}
	return max(n, highest)
}

// sqliteIndexes lists the indexes of every table, with whether each may
// be judged: not unique, and not led by a foreign key's columns.
func sqliteIndexes(ctx context.Context, q *sql.DB) ([]sqliteIndex, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT m.name, il.name, il."unique", COALESCE(group_concat(ii.name, ', '), '')
		FROM sqlite_master m
		JOIN pragma_index_list(m.name) il
		LEFT JOIN pragma_index_info(il.name) ii
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
		GROUP BY m.name, il.name
		ORDER BY m.name, il.name`)
	if err != nil {
		return nil, err
	}
	type row struct {
		Index
		unique bool
	}
	all, err := sqldb.ScanAll(rows, func(s sqldb.Scanner) (row, error) {
		var r row
		err := s.Scan(&r.Table, &r.Name, &r.unique, &r.Columns)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	fks := map[string][]string{} // table -> the column lists of its foreign keys
	var out []sqliteIndex
	for _, r := range all {
		if _, ok := fks[r.Table]; !ok {
			if fks[r.Table], err = sqliteForeignKeys(ctx, q, r.Table); err != nil {
				return nil, err
			}
		}
		judged := !r.unique
		for _, fk := range fks[r.Table] {
			if strings.HasPrefix(r.Columns+",", fk+",") {
				judged = false
			}
		}
		out = append(out, sqliteIndex{Index: r.Index, judged: judged})
	}
	return out, nil
}

// sqliteForeignKeys returns the column lists ("a, b") of table's foreign
// keys.
func sqliteForeignKeys(ctx context.Context, q *sql.DB, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT group_concat("from", ', ') FROM (SELECT id, "from" FROM pragma_foreign_key_list(?) ORDER BY id, seq) GROUP BY id`, table)
	if err != nil {
		return nil, err
	}
	return sqldb.ScanAll(rows, func(s sqldb.Scanner) (string, error) {
		var cols string
		err := s.Scan(&cols)
		return cols, err
	})
}

// containsWord reports whether name stands in query as a word of its own.
func containsWord(query, name string) bool {
	for i := 0; ; {
		j := strings.Index(query[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		if (start == 0 || !isWordByte(query[start-1])) && (end == len(query) || !isWordByte(query[end])) {
			return true
		}
		i = end
	}
}

func isWordByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
