package backup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// openServer opens the PostgreSQL or MySQL database at rawURL on a pool of
// one connection, with sqldb's checks of the transport.
func openServer(ctx context.Context, cfg Config, rawURL string) (*sqldb.DB, error) {
	return sqldb.Open(ctx, sqldb.Config{URL: rawURL, PoolSize: 1, MaxOverflow: -1, AllowInsecure: cfg.AllowInsecure, Logger: cfg.Logger})
}

// openForRead opens the database at rawURL to read its content.
func openForRead(ctx context.Context, cfg Config, rawURL string) (*sql.DB, func() error, error) {
	db, err := openServer(ctx, cfg, rawURL)
	if err != nil {
		return nil, nil, err
	}
	return db.Reader(), db.Close, nil
}

// withDatabase returns rawURL naming the database name instead.
func withDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("the database URL cannot be parsed")
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// scratchName is a fresh name for a scratch database.
func scratchName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "kura_verify_" + hex.EncodeToString(b)
}

// ErrScratchDenied marks a verify that could not run because the role of
// the scratch URL may not create a database, or may not restore into the
// one it made: the backup is not at fault, and nothing is recorded.
var ErrScratchDenied = errors.New("the role of the scratch URL may not create and fill a scratch database")

// makeScratch creates an empty database on the server at cfg.ScratchURL
// with create (given the quoted name), runs probe's statements in it (on
// one connection; they try the rights a restore uses) and returns its URL
// and its drop.
func makeScratch(ctx context.Context, cfg Config, create, drop func(name string) string, probe func(name string) []string) (string, func(context.Context) error, error) {
	db, err := openServer(ctx, cfg, cfg.ScratchURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect for a scratch database: %w", err)
	}
	name := scratchName()
	if _, err := db.Writer().ExecContext(ctx, create(name)); err != nil {
		db.Close()
		if sqldb.PermissionDenied(err) {
			return "", nil, fmt.Errorf("create a scratch database: %w: %w", ErrScratchDenied, err)
		}
		return "", nil, fmt.Errorf("create a scratch database (the role of the scratch URL must be allowed to create databases): %w", err)
	}
	dropIt := func(ctx context.Context) error {
		defer db.Close()
		_, err := db.Writer().ExecContext(ctx, drop(name))
		return err
	}
	if err := runProbe(ctx, db, probe, name); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := dropIt(dctx); derr != nil {
			cfg.Logger.Warn("backup: could not drop the scratch database", "err", derr)
		}
		if sqldb.PermissionDenied(err) {
			return "", nil, fmt.Errorf("restore into the scratch database: %w: %w", ErrScratchDenied, err)
		}
		return "", nil, fmt.Errorf("try the scratch database: %w", err)
	}
	u, err := withDatabase(cfg.ScratchURL, name)
	if err != nil {
		dropIt(context.WithoutCancel(ctx))
		return "", nil, err
	}
	return u, dropIt, nil
}

// runProbe runs probe's statements for the scratch database name on one
// connection of db.
func runProbe(ctx context.Context, db *sqldb.DB, probe func(name string) []string, name string) error {
	if probe == nil {
		return nil
	}
	conn, err := db.Writer().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range probe(name) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
