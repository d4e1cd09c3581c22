package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Backoff of OpenWait: the first retry after firstRetry, each later one
// after twice the last, at most maxRetry.
const (
	firstRetry = 250 * time.Millisecond
	maxRetry   = 5 * time.Second
)

// OpenWait opens the database of cfg as Open does, for a server started
// beside its database (by an orchestrator, systemd, compose). While the
// database cannot be reached (Unreachable) it tries again with backoff
// (0.25 s doubling to 5 s) until wait has passed (0: no retry), logging
// each failure at warn on log; then, or on any other failure, it returns
// the error with the advice of ExplainOpen. Its errors, like Open's, never
// hold the password.
func OpenWait(ctx context.Context, cfg Config, wait time.Duration, log *slog.Logger) (*DB, error) {
	start := time.Now()
	pause := firstRetry
	for attempt := 1; ; attempt++ {
		db, err := Open(ctx, cfg)
		if err == nil {
			if attempt > 1 {
				log.Info("database reachable", "after", time.Since(start).Round(time.Millisecond).String())
			}
			return db, nil
		}
		left := wait - time.Since(start)
		if !Unreachable(err) || left <= 0 {
			return nil, ExplainOpen(err, cfg.URL, wait)
		}
		pause = min(pause, left)
		log.Warn("database not reachable yet; retrying", "attempt", attempt, "in", pause.String(),
			"gives_up_in", left.Round(time.Second).String(), "err", err.Error())
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the database: %w", ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, maxRetry)
	}
}

// Unreachable reports whether err, from Open, says no server answered
// (refused, timed out, not resolved, PostgreSQL starting up), which may
// change by itself, rather than that the server refused the connection (a
// wrong password, a missing database, TLS), which will not.
func Unreachable(err error) bool {
	if MissingDatabase(err) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "57P03" // the database system is starting up
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn)
}

// MissingDatabase reports whether err says the server has no database of
// that name (PostgreSQL 3D000, MySQL 1049).
func MissingDatabase(err error) bool {
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	return errors.As(err, &pgErr) && pgErr.Code == "3D000" ||
		errors.As(err, &myErr) && myErr.Number == 1049
}

// CreateDatabaseAdvice is how to make the database name on the engine of
// d, as a superuser: the command-line tool and the statement.
func CreateDatabaseAdvice(d Dialect, name string) string {
	if d == Postgres {
		return fmt.Sprintf("createdb -h HOST -U USER %s, or CREATE DATABASE %s; as a superuser", name, name)
	}
	return fmt.Sprintf("CREATE DATABASE %s CHARACTER SET utf8mb4;", name)
}

// ExplainOpen adds to err, a failure of Open on rawURL, the question or
// the command that fixes it: whether the server runs at its address
// (saying whether it was retried for waited, KURA_DB_CONNECT_TIMEOUT), or
// how to create a missing database. The URL is named as DATABASE_URL.
func ExplainOpen(err error, rawURL string, waited time.Duration) error {
	d, _ := ParseDialect(rawURL)
	server, addr, name := Server(rawURL)
	var parseErr *pgconn.ParseConfigError
	switch {
	case errors.As(err, &parseErr):
		return fmt.Errorf("DATABASE_URL: %w", err)
	case d == SQLite:
		return err
	case MissingDatabase(err):
		return fmt.Errorf("%w\nthe database %q does not exist on %s: create it (%s), or fix the name in DATABASE_URL", err, name, addr, CreateDatabaseAdvice(d, name))
	case Unreachable(err):
		how := "checked once"
		if waited > 0 {
			how = "retried for " + waited.String() + ", KURA_DB_CONNECT_TIMEOUT"
		}
		return fmt.Errorf("%w\nis %s running at %s? (%s; DATABASE_URL names the server)", err, server, addr, how)
	}
	return err
}

// Server returns the product, the address (host:port, or the socket) and
// the database name a PostgreSQL or MySQL URL points at, for messages.
func Server(rawURL string) (product, addr, name string) {
	d, _ := ParseDialect(rawURL)
	if d == Postgres {
		if cc, err := pgx.ParseConfig(rawURL); err == nil {
			addr = net.JoinHostPort(cc.Host, fmt.Sprint(cc.Port))
			if strings.HasPrefix(cc.Host, "/") {
				addr = cc.Host
			}
			return "PostgreSQL", addr, cc.Database
		}
		return "PostgreSQL", "its address", ""
	}
	product, addr = "MySQL/MariaDB", "its address"
	if u, err := url.Parse(rawURL); err == nil {
		name = strings.TrimPrefix(u.Path, "/")
		switch {
		case u.Query().Get("socket") != "":
			addr = u.Query().Get("socket")
		case u.Port() != "":
			addr = u.Host
		case u.Host != "":
			addr = net.JoinHostPort(u.Hostname(), "3306")
		}
	}
	return product, addr, name
}

// URLUser returns the role (user) a PostgreSQL or MySQL URL logs in as;
// "" when it names none or does not parse.
func URLUser(rawURL string) string {
	switch d, _ := ParseDialect(rawURL); d {
	case Postgres:
		if cc, err := pgx.ParseConfig(rawURL); err == nil {
			return cc.User
		}
	case MySQL:
		if mc, err := mysqlConfig(rawURL); err == nil {
			return mc.User
		}
	}
	return ""
}

// URLDatabase returns the database a postgres:// or mysql:// URL names,
// "" for none.
func URLDatabase(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}
