package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// SearchUsers returns up to limit users whose email or username (by)
// starts with prefix, compared case-insensitively, in that column's order
// (lower-cased, by code point), after the key after (the column's value,
// lower-cased, of the last user of the previous page; "" for the first
// page). Each engine reads one index range: PostgreSQL the C-collated
// indexes of migration 13, SQLite the NOCASE unique indexes, MariaDB the
// unique keys. Errors: EINVALID for an unknown column, EUNAVAILABLE.
func (s *Users) SearchUsers(ctx context.Context, by, prefix, after string, limit int) ([]*kura.User, error) {
	if by != "email" && by != "username" {
		return nil, kura.Errorf(kura.EINVALID, "Search by email or username.")
	}
	q, args := searchQuery(s.db.Dialect(), by, strings.ToLower(prefix), strings.ToLower(after), limit)
	var users []*kura.User
	err := s.db.Read(ctx, func(rq sqldb.Querier) (err error) {
		users, err = sqldb.QueryAll(ctx, s.db, rq, scanUser, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return users, nil
}

// searchQuery returns the search's SQL on d and its arguments.
func searchQuery(d sqldb.Dialect, col, prefix, after string, limit int) (string, []any) {
	key := col
	if d == sqldb.Postgres {
		key = "lower(" + col + `) COLLATE "C"`
	}
	q := "SELECT " + userCols + " FROM users WHERE " + key + " LIKE ? ESCAPE '!'"
	args := []any{likePrefix(prefix)}
	if d == sqldb.Postgres {
		// The bounds of the prefix's range, as parameters, so that a
		// generic plan of the prepared statement reads the same index
		// range as a custom one (a LIKE parameter alone gives a generic
		// plan no range). In C order every string starting with prefix
		// sorts below prefix followed by U+10FFFF, the last code point.
		q += " AND " + key + " >= ? AND " + key + " < ?"
		args = append(args, prefix, prefix+"\U0010FFFF")
	}
	if after != "" {
		q += " AND " + key + " > ?"
		args = append(args, after)
	}
	q += " ORDER BY " + key + fmt.Sprintf(" LIMIT %d", limit)
	return q, args
}

// likePrefix returns the LIKE pattern of the strings starting with p,
// its wildcards escaped with '!'.
func likePrefix(p string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(p) + "%"
}
