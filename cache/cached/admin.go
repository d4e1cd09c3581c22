package cached

import (
	"context"
	"log/slog"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

// AdminService is a kura.AdminService that forgets a user in the users
// cache, on every instance, after each change of the user, before the
// change returns: a disabled or demoted user is seen so by the next
// request anywhere. Sessions ended by a change are forgotten through the
// store's OnSessionsEnded (SessionService.EndSessions); a disabled user's
// session still cached is refused by SessionService.Authenticate, which
// reads the user afresh.
type AdminService struct {
	next  kura.AdminService
	users *cache.Cache[kura.User]
	log   *slog.Logger
}

var _ kura.AdminService = (*AdminService)(nil)

// NewAdminService wraps next with users, the cache of users by id that
// the cached UserService uses. A nil logger means slog.Default().
func NewAdminService(next kura.AdminService, users *cache.Cache[kura.User], logger *slog.Logger) *AdminService {
	if logger == nil {
		logger = slog.Default()
	}
	return &AdminService{next: next, users: users, log: logger}
}

// ChangeAccount changes the user, then invalidates it everywhere.
func (s *AdminService) ChangeAccount(ctx context.Context, by kura.Actor, id int64, c kura.AccountChange) (*kura.User, error) {
	u, err := s.next.ChangeAccount(ctx, by, id, c)
	if err == nil {
		s.invalidate(ctx, id)
	}
	return u, err
}

// DeleteAccount deletes the user, then invalidates it everywhere.
func (s *AdminService) DeleteAccount(ctx context.Context, by kura.Actor, id int64, p kura.Precondition) error {
	err := s.next.DeleteAccount(ctx, by, id, p)
	if err == nil {
		s.invalidate(ctx, id)
	}
	return err
}

// EndSessions is the wrapped service's: the store reports the sessions
// it ended to OnSessionsEnded.
func (s *AdminService) EndSessions(ctx context.Context, by kura.Actor, id int64) (int, error) {
	return s.next.EndSessions(ctx, by, id)
}

// ListAudit is not cached.
func (s *AdminService) ListAudit(ctx context.Context, opt kura.ListOptions) (*kura.AuditList, error) {
	return s.next.ListAudit(ctx, opt)
}

func (s *AdminService) invalidate(ctx context.Context, id int64) {
	deleteAfterWrite(ctx, s.users, s.log, []string{userKey(id)}, slog.Int64("user_id", id))
}
