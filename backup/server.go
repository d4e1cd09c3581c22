package backup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"

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

// makeScratch creates an empty database on the server at cfg.ScratchURL
// with create (given the quoted name) and returns its URL and its drop.
func makeScratch(ctx context.Context, cfg Config, create, drop func(name string) string) (string, func(context.Context) error, error) {
	db, err := openServer(ctx, cfg, cfg.ScratchURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect for a scratch database: %w", err)
	}
	name := scratchName()
	if _, err := db.Writer().ExecContext(ctx, create(name)); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create a scratch database (the role of the scratch URL must be allowed to create databases): %w", err)
	}
	u, err := withDatabase(cfg.ScratchURL, name)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	return u, func(ctx context.Context) error {
		defer db.Close()
		_, err := db.Writer().ExecContext(ctx, drop(name))
		return err
	}, nil
}
