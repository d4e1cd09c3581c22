package backup

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestToolMessage: what the programs write to stderr when they fail keeps
// its message lines and loses every value of the data they quote.
func TestToolMessage(t *testing.T) {
	const email, hash = "ada@example.com", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"
	row := "(7,'" + email + "','ada','" + hash + "','user')"
	for _, c := range []struct {
		name, stderr, want string
	}{
		{"mariadb prints the statement, then a syntax error near the row",
			"--------------\nINSERT INTO `users` VALUES " + row + ",\n" + row + "\n--------------\n\n" +
				"ERROR 1064 (42000) at line 58: You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '" + email + "','" + hash + "' at line 1\n",
			"ERROR 1064 (42000) at line 58: You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '…'"},
		{"a duplicate entry names the value and the key",
			"ERROR 1062 (23000) at line 80: Duplicate entry '" + email + "' for key 'users_email_key'\n",
			"ERROR 1062 (23000) at line 80: Duplicate entry '…' for key 'users_email_key'"},
		{"a bad value for a column",
			"ERROR 1366 (22007) at line 9: Incorrect integer value: '" + email + "' for column `kura`.`users`.`id` at row 1\n",
			"ERROR 1366 (22007) at line 9: Incorrect integer value: '…' for column `kura`.`users`.`id` at row 1"},
		{"pg_restore's COPY error, its detail and context",
			"pg_restore: error: COPY failed for table \"users\": ERROR:  invalid input syntax for type bigint: \"" + email + "\"\n" +
				"CONTEXT:  COPY users, line 3, column id: \"" + email + "\"\n" +
				"DETAIL:  Failing row contains (" + email + ", " + hash + ").\n",
			"pg_restore: error: COPY failed for table \"users\": ERROR:  invalid input syntax for type bigint: \"…\""},
		{"a connection error keeps its identifiers",
			"pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"kura\"\n",
			"pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"kura\""},
		{"a line that is no message: nothing", row + "\n" + hash + "\n", ""},
		{"a short plain line stays", "out of memory\n", "out of memory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := toolMessage(c.stderr)
			if got != c.want {
				t.Errorf("toolMessage:\n got %q\nwant %q", got, c.want)
			}
			if strings.Contains(got, email) || strings.Contains(got, hash) || strings.Contains(got, "argon2id") {
				t.Errorf("row data left: %q", got)
			}
		})
	}
	long := "ERROR 1064: " + strings.Repeat("x", 2000)
	if got := toolMessage(long); len(got) > maxToolLine+len("…") {
		t.Errorf("a long line is %d bytes; want at most %d", len(got), maxToolLine)
	}
	many := strings.Repeat("pg_restore: warning: one\n", 50)
	if got := toolMessage(many); strings.Count(got, "pg_restore:") != maxToolLines {
		t.Errorf("kept %d lines of 50; want %d", strings.Count(got, "pg_restore:"), maxToolLines)
	}
}

// TestPGMessage: a PostgreSQL error keeps its message, scrubbed, and loses
// its detail (the failing row) and context (the COPY line).
func TestPGMessage(t *testing.T) {
	err := &pgconn.PgError{Severity: "ERROR", Code: "23505", Message: `duplicate key value violates unique constraint "users_email_key"`,
		Detail: "Key (email)=(ada@example.com) already exists.", Where: "COPY users, line 2"}
	got := pgMessage(errors.Join(errors.New("wrapped"), err))
	if got != `ERROR: duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)` {
		t.Errorf("pgMessage = %q", got)
	}
	err = &pgconn.PgError{Severity: "ERROR", Code: "22P02", Message: `invalid input syntax for type bigint: "ada@example.com"`}
	if got := pgMessage(err); strings.Contains(got, "ada") {
		t.Errorf("pgMessage = %q, quotes the value", got)
	}
}
