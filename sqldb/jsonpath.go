package sqldb

import (
	"fmt"
	"strconv"
	"strings"
)

// JSONField is one field of a document column, by path, that a query
// reads or filters by, written once for the three engines (see Expr). To
// filter by it fast, index it with the statements IndexDDL returns, in a
// migration of each engine's folder (kura's 00010_user_profile.sql files
// are the pattern):
//
//   - PostgreSQL: an expression index on (col->>'key'), the text of the
//     field, which a query using the same expression uses;
//   - SQLite: an expression index on json_extract(col, '$.key'), likewise;
//   - MariaDB, which does not index expressions: a VIRTUAL generated
//     column of the field's text (JSON_VALUE) with an index on it, and
//     queries read that column (Expr does, when Generated is set).
//
// Each index ends in id, so a newest-first list filtered by the field
// (List's NewestFirst with Where: Expr + " = ?") reads one index range in
// order, on every page. Index fields whose values are strings: the
// engines read a number as text (PostgreSQL, MariaDB) or as a number
// (SQLite), and a comparison with a text argument differs between them.
type JSONField struct {
	Column string   // the document column, such as "profile"
	Path   []string // the keys from the document's root, such as {"city"}; letters, digits and _ only
	// Generated is MariaDB's generated column of the field, such as
	// "profile_city"; "" reads the field with JSON_VALUE, unindexed.
	Generated string
	// MaxLen is the generated column's length in characters (VARCHAR);
	// 0 means 255. Longer values cannot be stored on MariaDB: refuse them
	// before writing.
	MaxLen int
}

// Expr returns the SQL expression of the field's value as text on the
// dialect, or NULL where the document has no such field: col->>'k' (or
// col#>>'{a,b}') on PostgreSQL, json_extract(col, '$.a.b') on SQLite,
// and the generated column, or JSON_VALUE(col, '$.a.b'), on MySQL. It
// panics on a path that is not lower-case letters, digits and _, which is a
// programming error: paths are written in code, never taken from input.
func (f JSONField) Expr(d Dialect) string {
	f.mustValid()
	switch d {
	case Postgres:
		if len(f.Path) == 1 {
			return "(" + f.Column + "->>'" + f.Path[0] + "')"
		}
		return "(" + f.Column + "#>>'{" + strings.Join(f.Path, ",") + "}')"
	case MySQL:
		if f.Generated != "" {
			return f.Generated
		}
		return "JSON_VALUE(" + f.Column + ", '" + f.jsonPath() + "')"
	}
	return "json_extract(" + f.Column + ", '" + f.jsonPath() + "')"
}

// jsonPath is the field's SQL/JSON path, "$.a.b".
func (f JSONField) jsonPath() string { return "$." + strings.Join(f.Path, ".") }

// IndexDDL returns the statements that index the field in table under
// the name index, with id after it (see JSONField): one CREATE INDEX on
// PostgreSQL and SQLite; on MySQL the generated column, then its index.
func (f JSONField) IndexDDL(d Dialect, table, index string) []string {
	f.mustValid()
	if d != MySQL {
		return []string{"CREATE INDEX " + index + " ON " + table + " (" + f.Expr(d) + ", id)"}
	}
	n := f.MaxLen
	if n == 0 {
		n = 255
	}
	return []string{
		"ALTER TABLE " + table + " ADD COLUMN " + f.Generated + " VARCHAR(" + strconv.Itoa(n) +
			") CHARACTER SET utf8mb4 COLLATE utf8mb4_bin AS (JSON_VALUE(" + f.Column + ", '" + f.jsonPath() + "')) VIRTUAL",
		"CREATE INDEX " + index + " ON " + table + " (" + f.Generated + ", id)",
	}
}

// Name is the field's name in an API: the column and the path joined
// by dots, such as "profile.city".
func (f JSONField) Name() string { return f.Column + "." + strings.Join(f.Path, ".") }

func (f JSONField) mustValid() {
	ok := identifier.MatchString(f.Column) && len(f.Path) > 0 && (f.Generated == "" || identifier.MatchString(f.Generated))
	for _, p := range f.Path {
		ok = ok && identifier.MatchString(p)
	}
	if !ok {
		panic(fmt.Sprintf("sqldb.JSONField: %q %q %q is not a column and a path of letters, digits and _", f.Column, f.Path, f.Generated))
	}
}
