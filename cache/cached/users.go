package cached

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

// UserService is a kura.UserService that serves FindUserByID from a cache.Cache
// and invalidates a user on every write of it, on this instance and, with a
// Redis tier, on every other instance, before the write returns. Lists are
// not cached: they change with every registration.
type UserService struct {
	next  kura.UserService
	users *cache.Cache[kura.User]
	log   *slog.Logger
}

var (
	_ kura.UserService            = (*UserService)(nil)
	_ kura.ConditionalUserDeleter = (*UserService)(nil)
)

// NewUserService wraps next with users, a cache of users by id. A nil
// logger means slog.Default().
func NewUserService(next kura.UserService, users *cache.Cache[kura.User], logger *slog.Logger) *UserService {
	if logger == nil {
		logger = slog.Default()
	}
	return &UserService{next: next, users: users, log: logger}
}

func userKey(id int64) string { return strconv.FormatInt(id, 10) }

// FindUserByID returns the cached user, loading it on a miss. A missing
// user is remembered briefly (cache.Config.NotFoundTTL). Errors: as the wrapped
// service's.
func (s *UserService) FindUserByID(ctx context.Context, id int64) (*kura.User, error) {
	u, err := s.users.GetOrLoad(ctx, userKey(id), func(ctx context.Context) (kura.User, error) {
		u, err := s.next.FindUserByID(kura.WithFreshReads(ctx), id) // never cache a replica's stale copy
		if err != nil {
			return kura.User{}, err
		}
		return *u, nil
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser creates the user and forgets a remembered "not found" for its
// id.
func (s *UserService) CreateUser(ctx context.Context, in kura.NewUser) (*kura.User, error) {
	u, err := s.next.CreateUser(ctx, in)
	if err == nil {
		s.invalidate(ctx, u.ID)
	}
	return u, err
}

// UpdateUser updates the user, then invalidates it everywhere.
func (s *UserService) UpdateUser(ctx context.Context, id int64, upd kura.UserUpdate) (*kura.User, error) {
	u, err := s.next.UpdateUser(ctx, id, upd)
	if err == nil {
		s.invalidate(ctx, id)
	}
	return u, err
}

// DeleteUser deletes the user, then invalidates it everywhere.
func (s *UserService) DeleteUser(ctx context.Context, id int64) error {
	err := s.next.DeleteUser(ctx, id)
	if err == nil {
		s.invalidate(ctx, id)
	}
	return err
}

// DeleteUserIf deletes the user if it still matches p, then invalidates
// it everywhere. The precondition is checked by the wrapped service
// against the row, never against a cached copy, so for a p that is set
// the wrapped service must be a kura.ConditionalUserDeleter (an error
// otherwise). Errors: as the wrapped service's.
func (s *UserService) DeleteUserIf(ctx context.Context, id int64, p kura.Precondition) error {
	var err error
	if d, ok := s.next.(kura.ConditionalUserDeleter); ok {
		err = d.DeleteUserIf(ctx, id, p)
	} else if !p.Set() {
		err = s.next.DeleteUser(ctx, id)
	} else {
		return errors.New("cached: the wrapped user service cannot delete conditionally")
	}
	if err == nil {
		s.invalidate(ctx, id)
	}
	return err
}

// ListUsers is not cached.
func (s *UserService) ListUsers(ctx context.Context, opt kura.ListOptions) (*kura.UserList, error) {
	return s.next.ListUsers(ctx, opt)
}

// Forget drops user id from the cache on every instance: for a write
// made past this service, such as the account flows' (accounts.Flows).
func (s *UserService) Forget(ctx context.Context, id int64) { s.invalidate(ctx, id) }

// invalidate drops a user from the cache; see deleteAfterWrite.
func (s *UserService) invalidate(ctx context.Context, id int64) {
	deleteAfterWrite(ctx, s.users, s.log, []string{userKey(id)}, slog.Int64("user_id", id))
}
