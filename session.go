package kura

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// Session is a login. Its token is random and is known in clear only to the
// client: the store keeps a hash.
type Session struct {
	ID        int64
	UserID    int64
	Token     string // set only by Login, the one time the token exists in clear
	CreatedAt time.Time
	ExpiresAt time.Time
	User      *User // the session's user, as of the lookup
}

// ValidateLogin returns an EINVALID *Error naming "login" when login is
// not valid UTF-8 or holds a NUL character, which no email or username can
// (and PostgreSQL refuses in any text); nil otherwise. An empty or unknown
// login is not invalid: it is a failed login.
func ValidateLogin(login string) error {
	if !utf8.ValidString(login) || strings.ContainsRune(login, 0) {
		return invalid(map[string]string{"login": "must be valid UTF-8 without NUL characters"})
	}
	return nil
}

// SessionService logs users in and out and authenticates bearer tokens.
type SessionService interface {
	// Login checks a login (email or username, case-insensitive) and
	// password and starts a session. It answers the same way, in about the
	// same time, whether the login is unknown or the password wrong.
	// Right before verifying the password it calls GuardPasswordCheck
	// with the account the login resolves to (UserAccount of the user, or
	// UnknownAccount of the login's canonical form), and returns the
	// guard's error, wrapped, without verifying.
	// Errors: EINVALID naming "login" (see ValidateLogin), EUNAUTHORIZED,
	// and the guard's (such as ERATELIMITED).
	Login(ctx context.Context, login, password string) (*Session, error)

	// Authenticate returns the live session behind a token, with its user.
	// Errors: EUNAUTHORIZED for an unknown, expired or ended session.
	Authenticate(ctx context.Context, token string) (*Session, error)

	// Logout ends the session behind a token. Errors: EUNAUTHORIZED.
	Logout(ctx context.Context, token string) error
}

type userContextKey struct{}

// NewContextWithUser returns a copy of ctx carrying the authenticated user.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userContextKey{}, u)
}

// UserFromContext returns the authenticated user of ctx, or nil.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userContextKey{}).(*User)
	return u
}

type freshReadsKey struct{}

// WithFreshReads returns a copy of ctx whose reads must see every committed
// write: a store with read replicas serves them from the primary. A cache
// loads through it, so that a value read from a lagging replica is never
// kept.
func WithFreshReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshReadsKey{}, true)
}

// FreshReads reports whether ctx was made by WithFreshReads.
func FreshReads(ctx context.Context) bool {
	v, _ := ctx.Value(freshReadsKey{}).(bool)
	return v
}

// TokenDigest returns the digest a session token is stored and cached
// under: the hex SHA-256 of the token's 32 random bytes. It reports false
// for a string that cannot be a token. The token itself is never stored.
func TokenDigest(token string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:]), true
}

// InvalidSessionMessage is the one message of an EUNAUTHORIZED session
// error, whatever the reason, so that it tells an attacker nothing.
const InvalidSessionMessage = "Invalid or expired session."
