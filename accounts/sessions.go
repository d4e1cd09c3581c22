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
}

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
	sess, err := s.StartSession(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return sess, nil
}
