package store

import (
	"context"
	"strings"
	"time"

	"github.com/kura-dev/kura"
)

// recordBatch is the most keys one INSERT of RecordCacheInvalidations
// carries.
const recordBatch = 100

// RecordCacheInvalidations records keys of the cache named cache (its
// Redis prefix) whose deletion Redis could not deliver to every instance,
// in the table cache_invalidations, stamped with the DB's clock (Now).
// Errors: EUNAVAILABLE.
func (db *DB) RecordCacheInvalidations(ctx context.Context, cache string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	at := db.Timestamp()
	return db.InTx(ctx, func(tx *Tx) error {
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
func (db *DB) CacheInvalidationsSince(ctx context.Context, since time.Time) ([]kura.CacheInvalidation, error) {
	var out []kura.CacheInvalidation
	err := db.Read(ctx, func(q Querier) error {
		var err error
		out, err = QueryAll(ctx, db, q, scanCacheInvalidation, `SELECT id, cache_name, cache_key, ts(created_at)
			FROM cache_invalidations WHERE created_at >= ? ORDER BY created_at, id`, since)
		return err
	})
	return out, err
}

func scanCacheInvalidation(r Scanner) (kura.CacheInvalidation, error) {
	var c kura.CacheInvalidation
	err := r.Scan(&c.ID, &c.Cache, &c.Key, Time(&c.At))
	return c, err
}

// PruneCacheInvalidations deletes the invalidations recorded before
// before. Errors: EUNAVAILABLE.
func (db *DB) PruneCacheInvalidations(ctx context.Context, before time.Time) error {
	_, err := db.Writer().ExecContext(ctx, db.Rebind(`DELETE FROM cache_invalidations WHERE created_at < ?`), db.TimeArg(before))
	return db.Unavailable(err)
}
