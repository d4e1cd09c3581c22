package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// The purposes of account tokens.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposePasswordReset = "password_reset"
	PurposeEmailChange   = "email_change"
)

// Tokens is the account_tokens table: the single-use tokens of the links
// the account flows send (package accounts). A token is 32 random bytes,
// base64url-encoded, like a session's, of which only the SHA-256 is
// stored, with the token's purpose, its expiry and a fingerprint of the
// account's email and password hash at issue: Consume refuses a token
// whose account has changed either since. Every method works in the
// caller's transaction, so that a token and the mail carrying it, or a
// token's use and the change it makes, commit together.
type Tokens struct {
	db *sqldb.DB
}

// NewTokens returns the account tokens of db.
func NewTokens(db *sqldb.DB) *Tokens { return &Tokens{db: db} }

// Token is a token's row, as Consume returns it.
type Token struct {
	ID        int64
	UserID    int64
	Purpose   string
	NewEmail  string // the address an email change confirms; "" otherwise
	ExpiresAt time.Time
}

// fingerprint binds a token to the account as it is: the SHA-256 of its
// email and password hash.
func fingerprint(email, passwordHash string) []byte {
	h := sha256.Sum256([]byte(email + "\x00" + passwordHash))
	return h[:]
}

// accountState reads the email and password hash of user id in tx, locking
// the row on MySQL and PostgreSQL until tx ends. Errors: sql.ErrNoRows.
func (t *Tokens) accountState(ctx context.Context, tx *sqldb.Tx, id int64) (email, hash string, err error) {
	q := "SELECT email, password_hash FROM users WHERE id = ?"
	if t.db.Dialect() != sqldb.SQLite {
		q += " FOR UPDATE"
	}
	err = tx.QueryRowContext(ctx, q, id).Scan(&email, &hash)
	return email, hash, err
}

// Issue stores a new token of the purpose for user id, valid for ttl, in
// tx, and returns it in clear (the only time it exists so) with its row id.
// newEmail is the address of an email change, "" otherwise. The user's
// expired tokens are deleted on the way. Errors: ENOTFOUND, EUNAVAILABLE.
func (t *Tokens) Issue(ctx context.Context, tx *sqldb.Tx, userID int64, purpose, newEmail string, ttl time.Duration) (token string, id int64, err error) {
	email, hash, err := t.accountState(ctx, tx, userID)
	if err != nil {
		return "", 0, fmt.Errorf("issue token: %w", sqldb.NotFound(err, "User"))
	}
	now := t.db.Timestamp()
	if _, err := tx.ExecContext(ctx, "DELETE FROM account_tokens WHERE user_id = ? AND expires_at <= ?", userID, now); err != nil {
		return "", 0, fmt.Errorf("issue token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", 0, err
	}
	th := sha256.Sum256(raw)
	id, err = t.db.Insert(ctx, tx, `INSERT INTO account_tokens (user_id, purpose, token_hash, fingerprint, new_email, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, userID, purpose, th[:], fingerprint(email, hash), newEmail, now, now.Add(ttl))
	if err != nil {
		return "", 0, fmt.Errorf("issue token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), id, nil
}

// IssuedSince counts the tokens of the purpose issued to user id since t,
// in tx: the flows cap the links one account receives by it. It locks the
// user's row first (SQLite's one writer does as much), so that concurrent
// issuers count in turn until tx ends. Errors: ENOTFOUND, EUNAVAILABLE.
func (t *Tokens) IssuedSince(ctx context.Context, tx *sqldb.Tx, userID int64, purpose string, since time.Time) (int, error) {
	if _, _, err := t.accountState(ctx, tx, userID); err != nil {
		return 0, sqldb.NotFound(err, "User")
	}
	q := "SELECT COUNT(*) FROM account_tokens WHERE user_id = ? AND purpose = ? AND created_at > ?"
	if t.db.Dialect() == sqldb.MySQL {
		q += " FOR UPDATE" // a locking read sees the latest rows, not tx's snapshot
	}
	var n int
	err := tx.QueryRowContext(ctx, q, userID, purpose, since).Scan(&n)
	return n, err
}

// Consume uses a token of the purpose in tx: it deletes it, with every
// other token of its user and purpose, and returns its row and its user.
// A token that is malformed, unknown, of another purpose, expired, of a
// disabled account, or whose account's email or password has changed
// since it was issued is
// refused with kura.ErrInvalidLink, the same for each. A refusal returned
// from tx's function rolls the deletion back with it.
// Errors: EBADREQUEST (kura.InvalidLinkMessage), EUNAVAILABLE.
func (t *Tokens) Consume(ctx context.Context, tx *sqldb.Tx, token, purpose string) (*Token, *kura.User, error) {
	th, ok := tokenHash(token)
	if !ok {
		return nil, nil, kura.ErrInvalidLink()
	}
	var tok Token
	var fp []byte
	q := "SELECT id, user_id, purpose, new_email, fingerprint, ts(expires_at) FROM account_tokens WHERE token_hash = ?"
	if t.db.Dialect() != sqldb.SQLite {
		q += " FOR UPDATE"
	}
	err := tx.QueryRowContext(ctx, q, th).Scan(&tok.ID, &tok.UserID, &tok.Purpose, &tok.NewEmail, &fp, sqldb.Time(&tok.ExpiresAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, kura.ErrInvalidLink()
	} else if err != nil {
		return nil, nil, fmt.Errorf("use token: %w", err)
	}
	if tok.Purpose != purpose || !t.db.Timestamp().Before(tok.ExpiresAt) {
		return nil, nil, kura.ErrInvalidLink()
	}
	email, hash, err := t.accountState(ctx, tx, tok.UserID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !bytes.Equal(fingerprint(email, hash), fp) {
		return nil, nil, kura.ErrInvalidLink()
	} else if err != nil {
		return nil, nil, fmt.Errorf("use token: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?", tok.UserID, purpose); err != nil {
		return nil, nil, fmt.Errorf("use token: %w", err)
	}
	u, err := findUser(ctx, tx, tok.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("use token: %w", err)
	}
	if u.Disabled { // a disabled account follows no link
		return nil, nil, kura.ErrInvalidLink()
	}
	return &tok, u, nil
}
