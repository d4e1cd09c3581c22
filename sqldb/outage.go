package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/kura-dev/kura"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// unavailableMessage is the message of the EUNAVAILABLE error of a call
// that could not reach the database or lost it half-way.
const unavailableMessage = "The database is unavailable; try again shortly."

// Unavailable returns err as a kura.Error with code EUNAVAILABLE (HTTP 503
// with Retry-After) when it says that the database cannot be reached or
// went away during the call, with the password scrubbed from the cause it
// keeps for the log; nil, a kura.Error and every other error come back
// unchanged. InTx, Read, List and this package's services apply it
// already: call it only on errors of queries run on Writer or Reader
// directly. An error of a call whose context ended stays as it is. On
// PostgreSQL and MySQL an outage also closes the pool's idle connections,
// so that the call after the server is back dials a new one.
//
// An outage is: a connection refused, reset, cut or timed out (any
// net.Error, io.EOF, io.ErrUnexpectedEOF, ECONNRESET, ECONNREFUSED, EPIPE,
// driver.ErrBadConn); on PostgreSQL SQLSTATE class 08 (connection
// exception), 57P01-57P05 (a backend terminated, a server shutting down or
// starting) and 53300 (too many connections); on MySQL and MariaDB the
// driver's ErrInvalidConn and errors 1040, 1053, 1927, 2006 and 2013
// (too many connections, shutdown, connection killed, server gone away,
// connection lost); on SQLite SQLITE_BUSY and SQLITE_LOCKED, which reach
// the caller only once busy_timeout has passed.
func (db *DB) Unavailable(err error) error {
	if err == nil {
		return nil // before errors.As, whose target escapes: no allocation per call
	}
	var ke *kura.Error
	if errors.As(err, &ke) || !isOutage(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // a call whose caller gave up is not an outage
	}
	if db.dialect != SQLite {
		db.dropIdle()
	}
	return &kura.Error{Code: kura.EUNAVAILABLE, Message: unavailableMessage, Err: db.sc.Err(err)}
}

// dropIdle closes the idle connections of the server's pool. A server that
// one call lost was most likely lost by every connection, and one cut
// while idle is not known to be dead until it is used (PrePing checks only
// those idle for over a second), so after an outage the next call dials
// afresh instead of failing on a dead connection.
func (db *DB) dropIdle() {
	db.writer.SetMaxIdleConns(-1)
	db.writer.SetMaxIdleConns(db.cfg.PoolSize + db.cfg.MaxOverflow)
}

// isOutage reports whether err says the database is out of reach (see
// Unavailable), rather than that a query or its input is wrong.
func isOutage(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.As(err, &netErr):
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || c == "53300" ||
			c >= "57P01" && c <= "57P05"
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1040, 1053, 1927, 2006, 2013:
			return true
		}
		return false
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		c := liteErr.Code() & 0xff // the primary code of an extended one
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}
