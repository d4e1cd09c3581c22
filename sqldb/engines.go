package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/kura-dev/kura/internal/credurl"
)

// SQLite DSN parameters. Both pools wait up to 5s on a lock held by another
// process (busy_timeout) and enforce foreign keys; the writer sets WAL
// (persistent in the file) and synchronous=NORMAL, the safe pairing for WAL,
// and begins every transaction IMMEDIATE; the readers refuse writes.
const (
	sqliteWriterParams = "_txlock=immediate&_time_format=sqlite" +
		"&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	sqliteReaderParams = "_time_format=sqlite" +
		"&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
)

func (db *DB) openSQLite(ctx context.Context) error {
	path, err := sqlitePath(db.cfg.URL)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	// The file holds password hashes and session digests: create it
	// readable by its owner only (SQLite gives its -wal and -shm files the
	// same mode). An existing file keeps the mode it has.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create database file: %w", err)
	}
	base := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
	if db.writer, err = sql.Open("sqlite", base+"?"+sqliteWriterParams); err != nil {
		return err
	}
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)
	// The writer's first connection creates the file and switches it to WAL
	// before any reader opens it.
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	if err := db.ping(ctx, db.writer); err != nil {
		db.writer.Close()
		return err
	}
	if db.reader, err = sql.Open("sqlite", base+"?"+sqliteReaderParams); err != nil {
		db.writer.Close()
		return err
	}
	n := max(4, runtime.NumCPU())
	db.reader.SetMaxOpenConns(n)
	db.reader.SetMaxIdleConns(n)
	db.reader.SetConnMaxLifetime(0)
	db.reader.SetConnMaxIdleTime(max(db.cfg.ConnMaxIdle, 0))
	return nil
}

func (db *DB) openPostgres() error {
	cc, err := pgx.ParseConfig(db.cfg.URL)
	if err != nil {
		return err
	}
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > ConnectTimeout {
		cc.ConnectTimeout = ConnectTimeout
	}
	if err := db.checkTransport(postgresTransport(cc)); err != nil {
		return err
	}
	db.pgConfig = cc
	prePing := *db.cfg.PrePing
	db.writer = stdlib.OpenDB(*cc, stdlib.OptionShouldPing(func(_ context.Context, p stdlib.ShouldPingParams) bool {
		return prePing && p.IdleDuration > time.Second
	}), stdlib.OptionAfterConnect(scanTimesInUTC))
	db.reader = db.writer
	db.setPool(db.writer)
	return nil
}

func (db *DB) openMySQL() error {
	mc, err := mysqlConfig(db.cfg.URL)
	if err != nil {
		return err
	}
	if err := db.checkTransport(mysqlTransport(mc)); err != nil {
		return err
	}
	mc.CheckConnLiveness = *db.cfg.PrePing
	mc.Logger = mysqlLogger{log: db.log, sc: db.sc}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return err
	}
	db.writer = sql.OpenDB(connector)
	db.reader = db.writer
	db.setPool(db.writer)
	return nil
}

// MySQLConfig returns the driver configuration kura connects with for a
// mysql:// URL, for tools that connect to the same server another way
// (such as the dump programs of package backup): account, password,
// network and address, database and TLS setting, parsed once for both.
func MySQLConfig(rawURL string) (*mysql.Config, error) { return mysqlConfig(rawURL) }

// mysqlConfig converts mysql://user:pass@host:port/db?params (or
// ?socket=/path for a unix socket) into a driver config: parseTime on, times
// in UTC on both sides, server-side parameters, found (not changed) rows.
// Other parameters are the driver's DSN parameters.
func mysqlConfig(rawURL string) (*mysql.Config, error) {
	if err := credurl.Check(rawURL); err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not a valid mysql:// URL")
	}
	q := u.Query()
	socket := q.Get("socket")
	q.Del("socket")
	dsn := "/"
	if len(q) > 0 {
		dsn += "?" + q.Encode()
	}
	mc, err := mysql.ParseDSN(dsn) // carries no credentials
	if err != nil {
		return nil, err
	}
	mc.User = u.User.Username()
	mc.Passwd, _ = u.User.Password()
	mc.DBName = strings.TrimPrefix(u.Path, "/")
	if socket != "" {
		mc.Net, mc.Addr = "unix", socket
	} else {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "3306"
		}
		mc.Net, mc.Addr = "tcp", net.JoinHostPort(host, port)
	}
	mc.ParseTime = true
	mc.Loc = time.UTC
	mc.InterpolateParams = false
	mc.ClientFoundRows = true
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["time_zone"] = "'+00:00'"
	if mc.Timeout == 0 || mc.Timeout > ConnectTimeout {
		mc.Timeout = ConnectTimeout
	}
	return mc, nil
}

// scanTimesInUTC makes a connection read a TIMESTAMPTZ column as a
// time.Time in UTC, as the other engines do, rather than in the process's
// local zone: a time scanned into a *time.Time is then the same value on
// every engine, == included.
func scanTimesInUTC(_ context.Context, c *pgx.Conn) error {
	c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
	return nil
}
