package sqldb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/password"
)

var _ kura.SessionService = (*SessionService)(nil)

// loginFailed is the one answer to a wrong login or password.
const loginFailed = "Invalid login or password."

// SessionService is the kura.SessionService of a database. Tokens are 32
// random bytes, base64url-encoded; the database keeps only their SHA-256.
type SessionService struct {
	db  *DB
	ttl time.Duration
}

// NewSessionService returns the session service of db; sessions last ttl
// (0 means kura.DefaultSessionTTL). Times come from db.Now.
func NewSessionService(db *DB, ttl time.Duration) *SessionService {
	if ttl <= 0 {
		ttl = kura.DefaultSessionTTL
	}
	return &SessionService{db: db, ttl: ttl}
}

// Login checks the login (an email if it contains '@', else a username;
// case-insensitive) and password, and starts a session. No connection is
// held while the password is verified, nor while the password guard of
// ctx (kura.GuardPasswordCheck) waits: it is called with the user's
// account (kura.UserAccount), or for an unknown login with the login's
// canonical form (kura.UnknownAccount), so that every spelling of one
// account meets one limit. An unknown login costs the same password work
// and the same guard as a wrong password and gets the same error.
// Errors: EINVALID (see kura.ValidateLogin), EUNAUTHORIZED, EUNAVAILABLE,
// the guard's.
func (s *SessionService) Login(ctx context.Context, login, pw string) (*kura.Session, error) {
	login = strings.TrimSpace(login)
	if err := kura.ValidateLogin(login); err != nil {
		return nil, err
	}
	if login == "" || len(login) > kura.MaxLoginLen || len(pw) > kura.MaxPasswordLen {
		password.VerifyDummy(pw[:min(len(pw), kura.MaxPasswordLen)])
		return nil, kura.Errorf(kura.EUNAUTHORIZED, loginFailed)
	}
	u, hash, err := s.findLogin(ctx, login)
	if errors.Is(err, sql.ErrNoRows) {
		if err := kura.GuardPasswordCheck(ctx, kura.UnknownAccount(loginForm(login))); err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		password.VerifyDummy(pw)
		return nil, kura.Errorf(kura.EUNAUTHORIZED, loginFailed)
	} else if err != nil {
		return nil, fmt.Errorf("login: %w", s.db.Unavailable(err))
	}
	if err := kura.GuardPasswordCheck(ctx, kura.UserAccount(u.ID)); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	ok, err := password.VerifyContext(ctx, pw, hash)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	} else if !ok {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, loginFailed)
	}
	sess, err := s.create(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return sess, nil
}

// findLogin returns the user and password hash of a login, or sql.ErrNoRows.
func (s *SessionService) findLogin(ctx context.Context, login string) (*kura.User, string, error) {
	col, val := "username", login
	if strings.Contains(login, "@") {
		col, val = "email", canonicalLogin(login)
	}
	c, err := s.db.conn(ctx, s.db.reader)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	var u kura.User
	var hash string
	err = c.QueryRowContext(ctx, s.db.rebind(loginQuery(s.db.dialect, col)), val).
		Scan(&u.ID, &u.Email, &u.Username, &u.Role, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, &hash)
	if err != nil {
		return nil, "", err
	}
	return &u, hash, nil
}

// create stores a new session of u.
func (s *SessionService) create(ctx context.Context, u *kura.User) (*kura.Session, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	now := s.db.now()
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
	err := s.db.InTx(ctx, func(tx *Tx) error {
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
// in one query joining sessions and users. Errors: EUNAUTHORIZED (unknown,
// malformed, expired or ended), EUNAVAILABLE.
func (s *SessionService) Authenticate(ctx context.Context, token string) (*kura.Session, error) {
	th, ok := tokenHash(token)
	if !ok {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	now := s.db.now()
	var sess kura.Session
	var u kura.User
	err := s.db.queryRow(ctx, s.db.reader, qAuthenticate, []any{th},
		&sess.ID, timeCol{&sess.CreatedAt}, timeCol{&sess.ExpiresAt},
		&u.ID, &u.Email, &u.Username, &u.Role, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, (*JSON)(&u.Profile))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !now.Before(sess.ExpiresAt) {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	} else if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	sess.UserID, sess.User = u.ID, &u
	return &sess, nil
}

// Logout ends the session behind a token. Errors: EUNAUTHORIZED (no such
// session), EUNAVAILABLE.
func (s *SessionService) Logout(ctx context.Context, token string) error {
	th, ok := tokenHash(token)
	if !ok {
		return kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	var n int64
	err := s.db.InTx(ctx, func(tx *Tx) error {
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
func (s *SessionService) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	now := s.db.now()
	var n int64
	err := s.db.InTx(ctx, func(tx *Tx) error {
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
