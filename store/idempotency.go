package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

var _ kura.IdempotencyStore = (*IdempotencyStore)(nil)

// IdempotencyStore is the kura.IdempotencyStore of a database: the table
// idempotency_keys, shared by every instance on the database.
type IdempotencyStore struct {
	db *sqldb.DB
}

// NewIdempotencyStore returns the idempotency store of db.
func NewIdempotencyStore(db *sqldb.DB) *IdempotencyStore {
	return &IdempotencyStore{db: db}
}

// maxClaimRounds bounds the rounds of one claim: each round that finds
// the row changed between its statements (deleted, taken over, renewed by
// another caller) looks again.
const maxClaimRounds = 5

// idemInsert returns the statement that inserts a claim unless the key
// has a row: one atomic step, so that of concurrent inserts exactly one
// adds a row. MySQL has no ON CONFLICT DO NOTHING, and its ON DUPLICATE KEY
// UPDATE counts a row found as changed under the client-found-rows flag
// kura connects with; INSERT IGNORE counts only rows inserted. The other
// errors IGNORE would turn into warnings cannot occur: no foreign key, and
// every value's length is bounded before.
func idemInsert(d sqldb.Dialect) string {
	const cols = ` INTO idempotency_keys (scope, idem_key, fingerprint, claim, status, created_at, claimed_at)
		VALUES (?, ?, ?, ?, 0, ?, ?)`
	if d == sqldb.MySQL {
		return `INSERT IGNORE` + cols
	}
	return `INSERT` + cols + ` ON CONFLICT (scope, idem_key) DO NOTHING`
}

// ClaimIdempotencyKey implements kura.IdempotencyStore. Each round inserts
// a new claim in a transaction of its own; when the key has a row, a
// second transaction reads it and, for a row past kura.IdempotencyTTL or
// an unfinished claim past lease, updates it guarded by what was read, so
// that of concurrent callers one owns it. (One transaction for both would
// deadlock on MySQL, where the failed insert holds a shared lock on the
// row that two updaters would both wait to upgrade.)
func (s *IdempotencyStore) ClaimIdempotencyKey(ctx context.Context, scope, key string, fingerprint []byte, lease time.Duration) (*kura.IdempotencyClaim, error) {
	for range maxClaimRounds {
		c := &kura.IdempotencyClaim{Scope: scope, Key: key, Token: newClaimToken()}
		again, err := s.claimRound(ctx, c, fingerprint, lease)
		if err != nil {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		if !again {
			return c, nil
		}
	}
	return nil, kura.Errorf(kura.EINPROGRESS, "The request with this Idempotency-Key is still running; retry later.")
}

// claimRound is one round of ClaimIdempotencyKey. It fills c and reports
// whether the row changed under it, so that another round must look.
func (s *IdempotencyStore) claimRound(ctx context.Context, c *kura.IdempotencyClaim, fp []byte, lease time.Duration) (again bool, err error) {
	db := s.db
	now := db.Timestamp()
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, idemInsert(db.Dialect()), c.Scope, c.Key, fp, c.Token, now, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		c.Owned = err == nil && n == 1
		return err
	})
	if err != nil || c.Owned {
		return false, err
	}
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		again, err = s.decide(ctx, tx, c, fp, lease, now)
		return err
	})
	return again, err
}

// decide reads the row of c's key on tx and fills c from it: a mismatch,
// a stored response, nothing (in progress), or, for a row past its time,
// a claim of its own.
func (s *IdempotencyStore) decide(ctx context.Context, tx *sqldb.Tx, c *kura.IdempotencyClaim, fp []byte, lease time.Duration, now time.Time) (bool, error) {
	var row idemRow
	err := tx.QueryRowContext(ctx, qIdemRow, c.Scope, c.Key).Scan(
		&row.fingerprint, &row.claim, &row.status, &row.headers, &row.body, sqldb.Time(&row.created), sqldb.Time(&row.claimed))
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil // released since the insert
	} else if err != nil {
		return false, err
	}
	expired := now.Add(-kura.IdempotencyTTL)
	switch {
	case row.created.Before(expired):
		return s.guarded(ctx, tx, c, qIdemRenew, fp, c.Token, now, now,
			c.Scope, c.Key, expired)
	case !bytes.Equal(row.fingerprint, fp):
		c.Mismatch = true
	case row.status != 0:
		c.Response, err = row.response()
	case row.claimed.Before(now.Add(-lease)):
		return s.guarded(ctx, tx, c, qIdemTakeOver, c.Token, now,
			c.Scope, c.Key, row.claim, now.Add(-lease))
	}
	return false, err
}

// guarded runs an update that makes c's claim the row's, if the row is
// still as read: then c is Owned; otherwise another round must look.
func (s *IdempotencyStore) guarded(ctx context.Context, tx *sqldb.Tx, c *kura.IdempotencyClaim, q string, args ...any) (bool, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	c.Owned = err == nil && n == 1
	return err == nil && n != 1, err
}

// idemRow is a row of idempotency_keys as read.
type idemRow struct {
	fingerprint []byte
	claim       string
	status      int
	headers     sql.NullString
	body        []byte
	created     time.Time
	claimed     time.Time
}

func (r *idemRow) response() (*kura.StoredResponse, error) {
	resp := &kura.StoredResponse{Status: r.status, Body: r.body}
	if r.headers.Valid && r.headers.String != "" {
		if err := json.Unmarshal([]byte(r.headers.String), &resp.Header); err != nil {
			return nil, fmt.Errorf("stored headers: %w", err)
		}
	}
	if resp.Body == nil {
		resp.Body = []byte{}
	}
	return resp, nil
}

// newClaimToken returns 16 random bytes in hex.
func newClaimToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// CompleteIdempotencyKey implements kura.IdempotencyStore.
func (s *IdempotencyStore) CompleteIdempotencyKey(ctx context.Context, c *kura.IdempotencyClaim, resp *kura.StoredResponse) error {
	var headers any
	if len(resp.Header) > 0 {
		b, err := json.Marshal(resp.Header)
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		headers = string(b)
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	return s.exec(ctx, "complete idempotency key", qIdemComplete, resp.Status, headers, body, c.Scope, c.Key, c.Token)
}

// ReleaseIdempotencyKey implements kura.IdempotencyStore.
func (s *IdempotencyStore) ReleaseIdempotencyKey(ctx context.Context, c *kura.IdempotencyClaim) error {
	return s.exec(ctx, "release idempotency key", qIdemRelease, c.Scope, c.Key, c.Token)
}

// DeleteExpiredIdempotencyKeys implements kura.IdempotencyStore.
func (s *IdempotencyStore) DeleteExpiredIdempotencyKeys(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, qIdemExpired, s.db.Timestamp().Add(-kura.IdempotencyTTL))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return n, nil
}

func (s *IdempotencyStore) exec(ctx context.Context, what, q string, args ...any) error {
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
