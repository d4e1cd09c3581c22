package sqldb

import (
	"errors"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// PermissionDenied reports whether err is the server refusing the role a
// statement it lacks the right to: PostgreSQL's insufficient_privilege
// (42501: "permission denied", "must be owner"), MySQL's and MariaDB's
// access denied to a database (1044), a command denied on a table or a
// column (1142, 1143) or a privilege missing for an operation (1227).
func PermissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "42501"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1044, 1142, 1143, 1227:
			return true
		}
	}
	return false
}
