package accounts

import (
	"context"
	"fmt"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/password"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

var (
	_ kura.UserService            = (*UserService)(nil)
	_ kura.PublicUserFinder       = (*UserService)(nil)
	_ kura.ConditionalUserDeleter = (*UserService)(nil)
	_ kura.AdminService           = (*UserService)(nil) // store.Users's: roles, disabled accounts, the audit log
)

// SeedPassword is the password of every user made by SeedUsers.
const SeedPassword = "kura-seed-password"

// UserService is the kura.UserService of a database: store.Users, whose
// reads, deletion, list and hooks it keeps, with the writes that take a
// password done here (validated, hashed, the current one verified).
type UserService struct {
	*store.Users
}

// NewUserService returns the user service of db. Set OnSessionsEnded and
// OnCreate (store.Users's) before use to learn of sessions a write ends
// and to act on new users in their transaction.
func NewUserService(db *sqldb.DB) *UserService {
	return &UserService{Users: store.NewUsers(db)}
}

// CreateUser validates the input, hashes the password (before touching the
// database) and stores the user (store.Users.CreateUser, which runs
// OnCreate in the same transaction). Errors: EINVALID, ECONFLICT naming
// "email" or "username", EUNAVAILABLE, and OnCreate's.
func (s *UserService) CreateUser(ctx context.Context, in kura.NewUser) (*kura.User, error) {
	in.Normalize()
	if err := store.CheckEmail(&in.Email, in.Validate); err != nil {
		return nil, err
	}
	hash, err := password.HashContext(ctx, in.Password)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return s.Users.CreateUser(ctx, store.NewUser{Email: in.Email, Username: in.Username, Role: in.Role, PasswordHash: hash})
}

// UpdateUser changes the given fields in one transaction; a new password
// ends every session of the user but upd.KeepSession in the same
// transaction. A CurrentPassword that is set is verified first, after
// the fields are validated and the password guard of ctx has allowed it
// (see checkPassword), holding no connection meanwhile. A profile patch
// is merged by the store with the row locked and the result checked by
// kura.CheckProfile; upd.If is checked on the locked row (see
// store.Users.UpdateUser). updated_at is moved by the database.
// Errors: ENOTFOUND, EINVALID (kura.ErrWrongCurrentPassword; the profile
// naming "profile" or its fields), ECONFLICT, EPRECONDITION,
// EUNAVAILABLE, the guard's.
func (s *UserService) UpdateUser(ctx context.Context, id int64, upd kura.UserUpdate) (*kura.User, error) {
	upd.Normalize()
	if err := store.CheckEmail(upd.Email, upd.Validate); err != nil {
		return nil, err
	}
	if upd.CurrentPassword != nil {
		if err := s.checkPassword(ctx, id, *upd.CurrentPassword); err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
	}
	change := store.UserUpdate{Email: upd.Email, Username: upd.Username, KeepSession: upd.KeepSession,
		Profile: upd.Profile, If: upd.If}
	if upd.Profile != nil {
		change.CheckProfile = kura.CheckProfile
	}
	if upd.Password != nil {
		hash, err := password.HashContext(ctx, *upd.Password)
		if err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		change.PasswordHash = &hash
	}
	return s.Users.UpdateUser(ctx, id, change)
}

// checkPassword verifies pw against the user's stored password, read from
// the reader pool, after the password guard of ctx allows it
// (kura.GuardPasswordCheck with the user's account, the one a login to
// the user meets). Errors: ENOTFOUND, kura.ErrWrongCurrentPassword,
// EUNAVAILABLE, the guard's.
func (s *UserService) checkPassword(ctx context.Context, id int64, pw string) error {
	hash, err := s.PasswordHash(ctx, id)
	if err != nil {
		return err
	}
	if pw == "" {
		return kura.ErrWrongCurrentPassword(true)
	}
	if len(pw) > kura.MaxPasswordLen {
		return kura.ErrWrongCurrentPassword(false)
	}
	if err := kura.GuardPasswordCheck(ctx, kura.UserAccount(id)); err != nil {
		return err
	}
	ok, err := password.VerifyContext(ctx, pw, hash)
	if err != nil {
		return err
	} else if !ok {
		return kura.ErrWrongCurrentPassword(false)
	}
	return nil
}

// SeedUsers inserts n users quickly, for benchmarks and demos, all with
// the password SeedPassword, hashed once (see store.Users.SeedUsers).
// progress, if not nil, is called after each batch with the number of
// users inserted so far.
func (s *UserService) SeedUsers(ctx context.Context, n int, progress func(done int)) error {
	hash, err := password.HashContext(ctx, SeedPassword)
	if err != nil {
		return fmt.Errorf("seed users: %w", err)
	}
	return s.Users.SeedUsers(ctx, n, hash, progress)
}
