package roles

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kura-dev/kura/sqldb"
)

// Apply runs r's statements in order on conn, connected to r.Database as
// a superuser or an admin that may create roles, with the passwords of
// passwords (by role). On PostgreSQL it first keeps the statements, which
// carry passwords, out of the server's log where its role may. Neither the
// statements nor the passwords are in its errors: a failed statement is
// a *StatementError, named by its number in the printed plan.
func Apply(ctx context.Context, conn *sql.Conn, d sqldb.Dialect, r Spec, passwords map[string]string) error {
	if err := checkDatabase(ctx, conn, d, r.Database); err != nil {
		return err
	}
	if d == sqldb.Postgres {
		// A role that may not change these settings leaves them be.
		for _, q := range []string{"SET log_statement = 'none'", "SET log_min_error_statement = 'panic'", "SET log_min_duration_statement = -1"} {
			conn.ExecContext(ctx, q)
		}
	}
	exists := func(role string) bool {
		var n int
		err := conn.QueryRowContext(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role).Scan(&n)
		return err == nil && n > 0
	}
	for i, s := range Statements(d, r, exists) {
		if _, err := conn.ExecContext(ctx, s.Render(func(role string) string { return Literal(passwords[role]) })); err != nil {
			return &StatementError{N: i + 1, Err: err}
		}
	}
	return nil
}

// StatementError is a statement of Apply that failed: its number in the
// plan (from 1, as the printed SQL counts), not its text, which may carry
// a password.
type StatementError struct {
	N   int
	Err error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("statement %d of the printed SQL: %v", e.N, e.Err)
}

func (e *StatementError) Unwrap() error { return e.Err }

// checkDatabase makes sure the connection is on the database the SQL names.
func checkDatabase(ctx context.Context, conn *sql.Conn, d sqldb.Dialect, want string) error {
	q := "SELECT current_database()"
	if d == sqldb.MySQL {
		q = "SELECT COALESCE(DATABASE(), '')"
	}
	var got string
	if err := conn.QueryRowContext(ctx, q).Scan(&got); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("connected to database %q, not %q: name the database in DATABASE_URL", got, want)
	}
	return nil
}
