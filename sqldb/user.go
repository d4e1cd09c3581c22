package sqldb

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/password"
)

var (
	_ kura.UserService      = (*UserService)(nil)
	_ kura.PublicUserFinder = (*UserService)(nil)
)

// UserService is the kura.UserService of a database.
type UserService struct {
	// OnSessionsEnded, if set, is called after a write that ended sessions
	// (a password change) has committed, with their digests
	// (kura.TokenDigest), before the write returns: a session cache
	// forgets them there.
	OnSessionsEnded func(ctx context.Context, digests []string)

	// OnCreate, if set, is called inside the transaction that inserts a
	// user, after the insert, with the new user. An error rolls the user
	// back and is returned by CreateUser. A job enqueued here exists if and
	// only if the user does (jobs.Client.EnqueueTx takes tx as it is). It
	// must use tx, not the DB: on SQLite tx holds the one writer
	// connection.
	OnCreate func(ctx context.Context, tx *Tx, u *kura.User) error

	db *DB
}

// NewUserService returns the user service of db. Set OnSessionsEnded and
// OnCreate before use to learn of sessions a write ends and to act on new
// users in their transaction.
func NewUserService(db *DB) *UserService {
	return &UserService{db: db}
}

// CreateUser validates the input, hashes the password (before touching the
// database) and inserts the user, then runs OnCreate in the same
// transaction. Errors: EINVALID, ECONFLICT naming "email" or "username",
// EUNAVAILABLE, and OnCreate's.
func (s *UserService) CreateUser(ctx context.Context, in kura.NewUser) (*kura.User, error) {
	in.Normalize()
	if err := checkEmail(&in.Email, in.Validate); err != nil {
		return nil, err
	}
	hash, err := password.HashContext(ctx, in.Password)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	var u *kura.User
	err = s.db.InTx(ctx, func(tx *Tx) error {
		id, err := s.insertUser(ctx, tx, in, hash)
		if err != nil {
			return conflict(err)
		}
		tx.readYourWrites(id)
		if u, err = findUser(ctx, s.db, tx, id); err != nil {
			return err
		}
		if s.OnCreate != nil {
			return s.OnCreate(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// insertUser inserts one user and returns its id.
func (s *UserService) insertUser(ctx context.Context, tx *Tx, in kura.NewUser, hash string) (int64, error) {
	return s.db.Insert(ctx, tx, "INSERT INTO users (email, username, password_hash, role) VALUES (?, ?, ?, ?)",
		in.Email, in.Username, hash, string(in.Role))
}

func findUser(ctx context.Context, db *DB, q Querier, id int64) (*kura.User, error) {
	row := db.bind(q).QueryRowContext(ctx, qUserByID, id)
	u, err := scanUser(row)
	return u, notFound(err, "User")
}

// FindUserByID returns one user, read from the reader pool; for a
// signed-in viewer in ctx (kura.UserFromContext), from a read replica if
// one has replayed the viewer's own writes (see Config.ReplicaURLs).
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *UserService) FindUserByID(ctx context.Context, id int64) (*kura.User, error) {
	var u kura.User
	var err error
	if s.db.replicas != nil && kura.UserFromContext(ctx) != nil {
		// A viewer's read: may be stale, but never for their own writes.
		err = s.db.staleRead(ctx, func(pool *sql.DB) error { return s.userByID(ctx, pool, id, &u) })
	} else {
		err = s.userByID(ctx, s.db.reader, id, &u) // authentication and its like: always current
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", notFound(err, "User"))
	}
	return &u, nil
}

// FindPublicUser returns the public view of one user (ID, Username and
// CreatedAt), reading only those columns: what an anonymous GET of a user
// needs, by the primary key, prepared per connection, on a read replica
// if one fits (see Config.ReplicaURLs).
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *UserService) FindPublicUser(ctx context.Context, id int64) (*kura.User, error) {
	var u kura.User
	var err error
	if s.db.replicas != nil {
		err = s.db.staleRead(ctx, func(pool *sql.DB) error { return s.publicUserByID(ctx, pool, id, &u) })
	} else {
		err = s.publicUserByID(ctx, s.db.reader, id, &u)
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", notFound(err, "User"))
	}
	return &u, nil
}

func (s *UserService) userByID(ctx context.Context, pool *sql.DB, id int64, u *kura.User) error {
	return s.db.queryRow(ctx, pool, qUserByID, []any{id},
		&u.ID, &u.Email, &u.Username, &u.Role, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, (*JSON)(&u.Profile))
}

func (s *UserService) publicUserByID(ctx context.Context, pool *sql.DB, id int64, u *kura.User) error {
	return s.db.queryRow(ctx, pool, qPublicUserByID, []any{id}, &u.ID, &u.Username, timeCol{&u.CreatedAt})
}

// UpdateUser changes the given fields in one transaction; a new password
// ends every session of the user but upd.KeepSession in the same
// transaction. A CurrentPassword that is set is verified first, after
// the fields are validated and the password guard of ctx has allowed it
// (see checkPassword), holding no connection meanwhile. With a profile
// patch or a precondition (upd.If) the row is read locked first: the
// precondition is checked on it and the patch merged onto its profile
// (see updateProfile), so that neither a concurrent update nor a stale
// client's is lost. updated_at is moved by the database (on MySQL, by
// the statement, at least a microsecond, so that the ETag moves too).
// Errors: ENOTFOUND, EINVALID (kura.ErrWrongCurrentPassword; the profile
// naming "profile" or its fields), ECONFLICT, EPRECONDITION,
// EUNAVAILABLE, the guard's.
func (s *UserService) UpdateUser(ctx context.Context, id int64, upd kura.UserUpdate) (*kura.User, error) {
	upd.Normalize()
	if err := checkEmail(upd.Email, upd.Validate); err != nil {
		return nil, err
	}
	if upd.CurrentPassword != nil {
		if err := s.checkPassword(ctx, id, *upd.CurrentPassword); err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
	}
	if upd.Empty() {
		u, err := s.FindUserByID(kura.WithFreshReads(ctx), id)
		if err == nil {
			err = upd.If.Check(u)
		}
		return u, err
	}
	var sets []string
	var args []any
	if upd.Email != nil {
		sets, args = append(sets, "email = ?"), append(args, *upd.Email)
	}
	if upd.Username != nil {
		sets, args = append(sets, "username = ?"), append(args, *upd.Username)
	}
	if upd.Password != nil {
		hash, err := password.HashContext(ctx, *upd.Password)
		if err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		sets, args = append(sets, "password_hash = ?"), append(args, hash)
	}
	var u *kura.User
	var ended []string
	err := s.db.InTx(ctx, func(tx *Tx) error {
		sets, args := sets, args
		if upd.If.Set() || upd.Profile != nil {
			cur, doc, err := s.lockedProfileUpdate(ctx, tx, id, upd)
			if err != nil {
				return err
			}
			if doc != nil {
				sets, args = append(sets, "profile = ?"), append(args, doc)
			}
			if len(sets) == 0 {
				u = cur // a patch that changes nothing writes nothing
				return nil
			}
		}
		if s.db.dialect == MySQL {
			sets = append(sets, mysqlMoveUpdatedAt)
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET "+strings.Join(sets, ", ")+" WHERE id = ?", append(args, id)...)
		if err != nil {
			return conflict(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return kura.Errorf(kura.ENOTFOUND, "User not found.")
		}
		if upd.Password != nil {
			if ended, err = s.endSessions(ctx, tx, id, upd.KeepSession); err != nil {
				return err
			}
		}
		u, err = findUser(ctx, s.db, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	if len(ended) > 0 && s.OnSessionsEnded != nil {
		s.OnSessionsEnded(ctx, ended)
	}
	return u, nil
}

// checkPassword verifies pw against the user's stored password, read from
// the reader pool, after the password guard of ctx allows it
// (kura.GuardPasswordCheck with the user's account, the one a login to
// the user meets). Errors: ENOTFOUND, kura.ErrWrongCurrentPassword,
// EUNAVAILABLE, the guard's.
func (s *UserService) checkPassword(ctx context.Context, id int64, pw string) error {
	var hash string
	err := s.db.queryRow(ctx, s.db.reader, qPasswordByID, []any{id}, &hash)
	if err != nil {
		return notFound(err, "User")
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

// endSessions deletes the sessions of a user in tx, but the one whose
// digest is keep ("" for none), and returns their digests
// (kura.TokenDigest), so a cache can forget exactly those. On PostgreSQL
// and SQLite one DELETE ... RETURNING does it; on MySQL the rows are read
// FOR UPDATE first, which also keeps new sessions of the user out until
// the transaction ends.
func (s *UserService) endSessions(ctx context.Context, tx *Tx, userID int64, keep string) ([]string, error) {
	cond, args := "user_id = ?", []any{userID}
	if h, err := hex.DecodeString(keep); err == nil && len(h) > 0 {
		cond, args = cond+" AND token_hash <> ?", append(args, h)
	}
	q := endSessionsQuery(s.db.dialect, cond)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var digests []string
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		digests = append(digests, hex.EncodeToString(h))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if s.db.dialect == MySQL {
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE "+cond, args...)
	}
	return digests, err
}

// DeleteUser removes a user; their sessions go with them (ON DELETE
// CASCADE). Errors: ENOTFOUND, EUNAVAILABLE.
func (s *UserService) DeleteUser(ctx context.Context, id int64) error {
	err := s.db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, qDeleteUser, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return kura.Errorf(kura.ENOTFOUND, "User not found.")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// ListUsers returns users newest first. Newest first is id order: ids are
// assigned in insertion order, so the primary key serves both the ORDER BY
// and the keyset condition (WHERE id < cursor ORDER BY id DESC LIMIT n)
// without another index, and a deep keyset page costs the same as the
// first. Keyset mode fetches one row more than asked to know whether a next
// page exists; offset mode also counts all users. A filter by a profile
// field (kura.ProfileFilters) reads that field's index, which ends in id
// (see profileFilter).
// Errors: EINVALID (bad cursor or sizes), EBADREQUEST (a filter by another
// field), EUNAVAILABLE.
func (s *UserService) ListUsers(ctx context.Context, opt kura.ListOptions) (*kura.UserList, error) {
	l := usersNewestFirst
	if opt.Filter.Field != "" {
		var err error
		if l, err = s.filtered(opt.Filter); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		opt.Filter = kura.Filter{}
	}
	p, err := List(ctx, s.db, opt, l)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return p, nil
}
