package store

import (
	"context"
	"strings"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// CacheInvalidations is the table cache_invalidations of a database:
// where cache/cached.Invalidations records the deletions Redis could not
// deliver (it implements cached.InvalidationStore).
type CacheInvalidations struct {
	db *sqldb.DB
}

// NewCacheInvalidations returns the cache invalidations of db.
func NewCacheInvalidations(db *sqldb.DB) *CacheInvalidations {
	return &CacheInvalidations{db: db}
}

// recordBatch is the most keys one INSERT of RecordCacheInvalidations
// carries.
const recordBatch = 100

// RecordCacheInvalidations records keys of the cache named cache (its
// Redis prefix) whose deletion Redis could not deliver to every instance,
// in the table cache_invalidations, stamped with the DB's clock (sqldb.DB.Now).
// Errors: EUNAVAILABLE.
func (s *CacheInvalidations) RecordCacheInvalidations(ctx context.Context, cache string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	at := s.db.Timestamp()
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		for start := 0; start < len(keys); start += recordBatch {
			batch := keys[start:min(start+recordBatch, len(keys))]
			args := make([]any, 0, 3*len(batch))
			for _, k := range batch {
				args = append(args, cache, k, at)
			}
			q := `INSERT INTO cache_invalidations (cache_name, cache_key, created_at) VALUES ` +
				strings.Repeat("(?, ?, ?), ", len(batch)-1) + `(?, ?, ?)`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// CacheInvalidationsSince returns the invalidations recorded at or after
// since, oldest first. It is one range scan of the index on created_at.
// Errors: EUNAVAILABLE.
func (s *CacheInvalidations) CacheInvalidationsSince(ctx context.Context, since time.Time) ([]kura.CacheInvalidation, error) {
	var out []kura.CacheInvalidation
	err := s.db.Read(ctx, func(q sqldb.Querier) error {
		var err error
		out, err = sqldb.QueryAll(ctx, s.db, q, scanCacheInvalidation, `SELECT id, cache_name, cache_key, ts(created_at)
			FROM cache_invalidations WHERE created_at >= ? ORDER BY created_at, id`, since)
		return err
	})
	return out, err
}

func scanCacheInvalidation(r sqldb.Scanner) (kura.CacheInvalidation, error) {
	var c kura.CacheInvalidation
	err := r.Scan(&c.ID, &c.Cache, &c.Key, sqldb.Time(&c.At))
	return c, err
}

// PruneCacheInvalidations deletes the invalidations recorded before
// before. Errors: EUNAVAILABLE.
func (s *CacheInvalidations) PruneCacheInvalidations(ctx context.Context, before time.Time) error {
	db := s.db
	_, err := db.Writer().ExecContext(ctx, db.Rebind(`DELETE FROM cache_invalidations WHERE created_at < ?`), db.TimeArg(before))
	return db.Unavailable(err)
}
