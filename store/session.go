package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"database/sql"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// Sessions is the sessions table of a database: it starts, reads and ends
// sessions, and finds the user and password hash behind a login. Tokens
// are 32 random bytes, base64url-encoded; the database keeps only their
// SHA-256. package accounts builds kura.SessionService's Login on it; the
// other methods of kura.SessionService are this type's own.
type Sessions struct {
	db  *sqldb.DB
	ttl time.Duration
}

// NewSessions returns the sessions of db; sessions last ttl (0 means
// kura.DefaultSessionTTL). Times come from db.Now.
func NewSessions(db *sqldb.DB, ttl time.Duration) *Sessions {
	if ttl <= 0 {
		ttl = kura.DefaultSessionTTL
	}
	return &Sessions{db: db, ttl: ttl}
}

// FindLogin returns the user (its profile left out: Profile is nil) and
// the password hash of a login: an email if it contains '@' (in its
// canonical form, see CheckEmail), else a username; case-insensitive. It
// reads from the reader pool and holds no connection after it returns.
// Errors: sql.ErrNoRows when no user has the login, EUNAVAILABLE.
func (s *Sessions) FindLogin(ctx context.Context, login string) (*kura.User, string, error) {
	col, val := "username", login
	if strings.Contains(login, "@") {
		col, val = "email", canonicalLogin(login)
	}
	var u kura.User
	var hash string
	err := s.db.Read(ctx, func(q sqldb.Querier) error {
		return q.QueryRowContext(ctx, loginQuery(s.db.Dialect(), col), val).Scan(append(userBaseDest(&u), &hash)...)
	})
	if err != nil {
		return nil, "", err
	}
	return &u, hash, nil
}

// StartSession stores a new session of u, lasting the store's ttl, and
// returns it with its token: what follows a verified login.
// Errors: EUNAVAILABLE.
func (s *Sessions) StartSession(ctx context.Context, u *kura.User) (*kura.Session, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	now := s.db.Timestamp()
	sess := &kura.Session{
		UserID:    u.ID,
		Token:     base64.RawURLEncoding.EncodeToString(raw),
		CreatedAt: now,
		ExpiresAt: now.Add(s.ttl),
		User:      u,
	}
	th := sha256.Sum256(raw)
	q := "INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)"
	args := []any{u.ID, th[:], sess.CreatedAt, sess.ExpiresAt}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		sess.ID, err = s.db.Insert(ctx, tx, q, args...)
		return err
	})
	return sess, err
}

// tokenHash returns the SHA-256 of a well-formed token, or false.
func tokenHash(token string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}

// Authenticate returns the live session behind a token with its user, read
// in one query joining sessions and users. A disabled user's session is
// not live, even one started by a login that raced the disabling.
// Errors: EUNAUTHORIZED (unknown, malformed, expired, ended or of a
// disabled user), EUNAVAILABLE.
func (s *Sessions) Authenticate(ctx context.Context, token string) (*kura.Session, error) {
	th, ok := tokenHash(token)
	if !ok {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	now := s.db.Timestamp()
	var sess kura.Session
	var u kura.User
	err := s.db.ReadRow(ctx, qAuthenticate, []any{th},
		&sess.ID, sqldb.Time(&sess.CreatedAt), sqldb.Time(&sess.ExpiresAt),
		&u.ID, &u.Email, &u.Username, &u.Role, flagCol{&u.Disabled}, sqldb.Time(&u.CreatedAt), sqldb.Time(&u.UpdatedAt), sqldb.NullTime(&u.EmailVerifiedAt), (*sqldb.JSON)(&u.Profile))
	if errors.Is(err, sql.ErrNoRows) || err == nil && (!now.Before(sess.ExpiresAt) || u.Disabled) {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	} else if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	sess.UserID, sess.User = u.ID, &u
	return &sess, nil
}

// Logout ends the session behind a token. Errors: EUNAUTHORIZED (no such
// session), EUNAVAILABLE.
func (s *Sessions) Logout(ctx context.Context, token string) error {
	th, ok := tokenHash(token)
	if !ok {
		return kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	var n int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, qLogout, th)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	} else if n == 0 {
		return kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that expired before now (by
// the index on expires_at) and returns how many went. It is meant for a
// periodic job.
func (s *Sessions) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	now := s.db.Timestamp()
	var n int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, qDeleteExpiredSessions, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
