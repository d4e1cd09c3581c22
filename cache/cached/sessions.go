package cached

import (
	"context"
	"log/slog"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

// SessionService is a kura.SessionService that serves Authenticate, the
// lookup behind every bearer token, from a cache.Cache keyed by the token's
// digest (never the token). A cached session holds no user: the user is
// read through users, a cached kura.UserService invalidated on every write,
// so a changed, disabled or deleted user is seen at once. A session ends in the cache
// when it is logged out here and, through EndSessions, when the store ends
// it (a password change); its expiry is checked on every hit.
type SessionService struct {
	next     kura.SessionService
	users    kura.UserService
	sessions *cache.Cache[kura.Session]
	log      *slog.Logger

	// Now is the clock that expiry is checked against; time.Now by default.
	Now func() time.Time
}

var _ kura.SessionService = (*SessionService)(nil)

// NewSessionService wraps next with sessions, a cache of sessions by
// digest; users looks up a session's user (pass the cached UserService).
// A nil logger means slog.Default().
func NewSessionService(next kura.SessionService, users kura.UserService, sessions *cache.Cache[kura.Session], logger *slog.Logger) *SessionService {
	if logger == nil {
		logger = slog.Default()
	}
	return &SessionService{next: next, users: users, sessions: sessions, log: logger, Now: time.Now}
}

func errInvalidSession() error { return kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage) }

// Login is not cached.
func (s *SessionService) Login(ctx context.Context, login, password string) (*kura.Session, error) {
	return s.next.Login(ctx, login, password)
}

// Authenticate returns the live session behind token with its current
// user. Errors: EUNAUTHORIZED, and the wrapped services' others.
func (s *SessionService) Authenticate(ctx context.Context, token string) (*kura.Session, error) {
	digest, ok := kura.TokenDigest(token)
	if !ok {
		return nil, errInvalidSession()
	}
	if !s.sessions.Trusted() {
		// Redis cannot confirm invalidations (see cache.Config.Strict):
		// the store's one query, which reads the user too, instead of the
		// session and then its user from the database.
		return s.next.Authenticate(ctx, token)
	}
	sess, err := s.sessions.GetOrLoad(ctx, digest, func(ctx context.Context) (kura.Session, error) {
		full, err := s.next.Authenticate(ctx, token)
		if err != nil {
			return kura.Session{}, err
		}
		c := *full
		c.User, c.Token = nil, ""
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	if !s.Now().Before(sess.ExpiresAt) {
		return nil, errInvalidSession()
	}
	u, err := s.users.FindUserByID(ctx, sess.UserID)
	if kura.ErrorCode(err) == kura.ENOTFOUND || err == nil && u.Disabled {
		return nil, errInvalidSession()
	} else if err != nil {
		return nil, err
	}
	sess.User = u
	return &sess, nil
}

// Logout ends the session in the store, then everywhere in the cache.
func (s *SessionService) Logout(ctx context.Context, token string) error {
	err := s.next.Logout(ctx, token)
	if digest, ok := kura.TokenDigest(token); ok && (err == nil || kura.ErrorCode(err) == kura.EUNAUTHORIZED) {
		s.EndSessions(ctx, []string{digest})
	}
	return err
}

// EndSessions forgets the sessions with the given digests on every
// instance; it fits store.Users.OnSessionsEnded. The store has
// already ended them, so an incomplete invalidation (Redis down) is logged,
// not returned: see deleteAfterWrite.
func (s *SessionService) EndSessions(ctx context.Context, digests []string) {
	if len(digests) == 0 {
		return
	}
	deleteAfterWrite(ctx, s.sessions, s.log, digests, slog.Int("sessions", len(digests)))
}
