package sqldb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PgxPool opens a pgx pool of at most maxConns connections to the same
// PostgreSQL database, with the same settings and TLS checks as the DB's
// own pool, for code that wants pgx itself (River's workers, which listen
// for new jobs with LISTEN). The caller closes it. It connects lazily.
func (db *DB) PgxPool(maxConns int32) (*pgxpool.Pool, error) {
	if db.dialect != Postgres {
		return nil, fmt.Errorf("pgx pool: the database is %s, not PostgreSQL", db.dialect)
	}
	pc, err := pgxpool.ParseConfig(db.cfg.URL)
	if err != nil {
		return nil, db.sc.Err(fmt.Errorf("pgx pool: %w", err))
	}
	pc.ConnConfig = db.pgConfig.Copy()
	pc.MaxConns = maxConns
	pc.MinConns = 0
	if db.cfg.ConnMaxAge > 0 {
		pc.MaxConnLifetime = db.cfg.ConnMaxAge
	}
	p, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, db.sc.Err(fmt.Errorf("pgx pool: %w", err))
	}
	return p, nil
}
