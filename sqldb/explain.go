package sqldb

import (
	"context"
	"database/sql"
	"strings"
)

// Explain returns the plan the engine chooses for query (written once for
// every engine, see Rebind) with args, read on the reader pool, one line
// per row of the engine's EXPLAIN: EXPLAIN QUERY PLAN's details on SQLite
// ("SEARCH users USING INDEX users_profile_city (<expr>=?)"), EXPLAIN's
// text on PostgreSQL ("Index Scan Backward using users_profile_city on
// users"), and each row's columns joined by spaces on MySQL (its key
// column names the index). Tests that hold a query to its index read it,
// as does the benchmark.
func (db *DB) Explain(ctx context.Context, query string, args ...any) (string, error) {
	prefix := "EXPLAIN "
	if db.dialect == SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	var lines []string
	err := db.Read(ctx, func(q Querier) error {
		rows, err := q.QueryContext(ctx, prefix+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			var parts []string
			for i, v := range vals {
				if db.dialect == SQLite && cols[i] != "detail" {
					continue
				}
				if v.Valid {
					parts = append(parts, v.String)
				}
			}
			lines = append(lines, strings.Join(parts, " "))
		}
		return rows.Err()
	})
	return strings.Join(lines, "\n"), err
}
