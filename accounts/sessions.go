package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/password"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

var _ kura.SessionService = (*SessionService)(nil)

// loginFailed is the one answer to a wrong login or password.
const loginFailed = "Invalid login or password."

// SessionService is the kura.SessionService of a database: store.Sessions,
// whose Authenticate, Logout and DeleteExpiredSessions it keeps, with the
// login verified here.
type SessionService struct {
	*store.Sessions

	// RequireVerifiedEmail refuses the login of an account whose address
	// is not verified (kura.User.EmailVerifiedAt), with EFORBIDDEN, once
	// its password is verified (KURA_REQUIRE_VERIFIED_EMAIL). False, the
	// default, lets every account log in.
	RequireVerifiedEmail bool
}

// unverifiedLogin is the answer to a right password of an account whose
// address is not verified, when that is required.
const unverifiedLogin = "Confirm your email address first: follow the link sent to it, or ask for a new one (POST /api/auth/verify-email/resend)."

// NewSessionService returns the session service of db; sessions last ttl
// (0 means kura.DefaultSessionTTL). Times come from db.Now.
func NewSessionService(db *sqldb.DB, ttl time.Duration) *SessionService {
	return &SessionService{Sessions: store.NewSessions(db, ttl)}
}

// Login checks the login (an email if it contains '@', else a username;
// case-insensitive) and password, and starts a session. No connection is
// held while the password is verified, nor while the password guard of
// ctx (kura.GuardPasswordCheck) waits: it is called with the user's
// account (kura.UserAccount), or for an unknown login with the login's
// canonical form (kura.UnknownAccount), so that every spelling of one
// account meets one limit. An unknown login costs the same password work
// and the same guard as a wrong password and gets the same error; so does
// a disabled account's (see MayLogIn), even with the right password.
// With RequireVerifiedEmail, a right password of an unverified account
// gets EFORBIDDEN.
// Errors: EINVALID (see kura.ValidateLogin), EUNAUTHORIZED, EFORBIDDEN,
// EUNAVAILABLE, the guard's.
func (s *SessionService) Login(ctx context.Context, login, pw string) (*kura.Session, error) {
	login = strings.TrimSpace(login)
	if err := kura.ValidateLogin(login); err != nil {
		return nil, err
	}
	if login == "" || len(login) > kura.MaxLoginLen || len(pw) > kura.MaxPasswordLen {
		password.VerifyDummy(pw[:min(len(pw), kura.MaxPasswordLen)])
		return nil, kura.Errorf(kura.EUNAUTHORIZED, loginFailed)
	}
	u, hash, err := s.FindLogin(ctx, login)
	if errors.Is(err, sql.ErrNoRows) {
		if err := kura.GuardPasswordCheck(ctx, kura.UnknownAccount(store.LoginForm(login))); err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		password.VerifyDummy(pw)
		return nil, kura.Errorf(kura.EUNAUTHORIZED, loginFailed)
	} else if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if err := kura.GuardPasswordCheck(ctx, kura.UserAccount(u.ID)); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	ok, err := password.VerifyContext(ctx, pw, hash)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	} else if !ok || !MayLogIn(u) {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, loginFailed)
	}
	if s.RequireVerifiedEmail && u.EmailVerifiedAt.IsZero() {
		return nil, kura.Errorf(kura.EFORBIDDEN, unverifiedLogin)
	}
	sess, err := s.StartSession(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return sess, nil
}
