package app

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

	"github.com/kura-dev/kura/sqldb"
)

// Backoff of the wait for a database at start: the first retry after
// firstRetry, each later one after twice the last, at most maxRetry.
const (
	firstRetry = 250 * time.Millisecond
	maxRetry   = 5 * time.Second
)

// OpenDB opens the database of cfg. While it cannot be reached, it tries
// again with backoff until wait has passed (0: no retry), logging each
// failure at warn; then, or on any other failure, it returns an error that
// says what to check: whether the server runs, or how to create a missing
// database. Its errors, like sqldb's, never hold the password.
func OpenDB(ctx context.Context, cfg sqldb.Config, wait time.Duration, log *slog.Logger) (*sqldb.DB, error) {
	start := time.Now()
	pause := firstRetry
	for attempt := 1; ; attempt++ {
		db, err := sqldb.Open(ctx, cfg)
		if err == nil {
			if attempt > 1 {
				log.Info("database reachable", "after", time.Since(start).Round(time.Millisecond).String())
			}
			return db, nil
		}
		left := wait - time.Since(start)
		if !unreachable(err) || left <= 0 {
			return nil, explainOpen(err, cfg.URL, wait)
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

// unreachable reports whether err, from sqldb.Open, says no server
// answered (refused, timed out, not resolved, starting up), which may
// change by itself, rather than that the server refused kura (a wrong
// password, a missing database, TLS), which will not.
func unreachable(err error) bool {
	if missingDatabase(err) {
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

// missingDatabase reports whether err says the server has no database of
// that name.
func missingDatabase(err error) bool {
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	return errors.As(err, &pgErr) && pgErr.Code == "3D000" ||
		errors.As(err, &myErr) && myErr.Number == 1049
}

// explainOpen adds to err, a failure of sqldb.Open on rawURL, the question
// or the command that fixes it.
func explainOpen(err error, rawURL string, waited time.Duration) error {
	d, _ := sqldb.ParseDialect(rawURL)
	server, addr, name := ServerOf(rawURL)
	var parseErr *pgconn.ParseConfigError
	switch {
	case errors.As(err, &parseErr):
		return fmt.Errorf("DATABASE_URL: %w", err)
	case d == sqldb.SQLite:
		return err
	case missingDatabase(err) && d == sqldb.Postgres:
		return fmt.Errorf("%w\nthe database %q does not exist on %s: create it (createdb -h HOST -U USER %s, or CREATE DATABASE %s; as a superuser), or fix the name in DATABASE_URL", err, name, addr, name, name)
	case missingDatabase(err):
		return fmt.Errorf("%w\nthe database %q does not exist on %s: create it (CREATE DATABASE %s CHARACTER SET utf8mb4;), or fix the name in DATABASE_URL", err, name, addr, name)
	case unreachable(err):
		how := "checked once"
		if waited > 0 {
			how = "retried for " + waited.String() + ", KURA_DB_CONNECT_TIMEOUT"
		}
		return fmt.Errorf("%w\nis %s running at %s? (%s; DATABASE_URL names the server)", err, server, addr, how)
	}
	return err
}

// ServerOf returns the product, the address (host:port, or the socket)
// and the database name a PostgreSQL or MySQL URL points at, for messages.
func ServerOf(rawURL string) (server, addr, name string) {
	d, _ := sqldb.ParseDialect(rawURL)
	if d == sqldb.Postgres {
		if cc, err := pgx.ParseConfig(rawURL); err == nil {
			addr = net.JoinHostPort(cc.Host, fmt.Sprint(cc.Port))
			if strings.HasPrefix(cc.Host, "/") {
				addr = cc.Host
			}
			return "PostgreSQL", addr, cc.Database
		}
		return "PostgreSQL", "its address", ""
	}
	server, addr = "MySQL/MariaDB", "its address"
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
	return server, addr, name
}
