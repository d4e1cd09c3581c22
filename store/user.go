package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

var _ kura.PublicUserFinder = (*Users)(nil)

// Users is the users table of a database: it stores and reads users and
// their password hashes, and never sees a password. package accounts
// builds kura.UserService on it (validation, hashing, the password guard).
type Users struct {
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
	OnCreate func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error

	db *sqldb.DB
}

// NewUsers returns the users of db. Set OnSessionsEnded and OnCreate
// before use to learn of sessions a write ends and to act on new users in
// their transaction.
func NewUsers(db *sqldb.DB) *Users {
	return &Users{db: db}
}

// NewUser is a user to store: its fields as validated by the caller, and
// the hash of its password (a PHC string, see package password).
type NewUser struct {
	Email        string
	Username     string
	Role         kura.Role // zero means kura.RoleUser
	PasswordHash string
}

// CreateUser inserts the user, its email in the canonical form (see
// CheckEmail), then runs OnCreate in the same transaction.
// Errors: EINVALID (an email emailaddr refuses), ECONFLICT naming "email"
// or "username", EUNAVAILABLE, and OnCreate's.
func (s *Users) CreateUser(ctx context.Context, in NewUser) (*kura.User, error) {
	if err := CheckEmail(&in.Email, nil); err != nil {
		return nil, err
	}
	if in.Role == "" {
		in.Role = kura.RoleUser
	}
	var u *kura.User
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err := s.insertUser(ctx, tx, in)
		if err != nil {
			return conflict(err)
		}
		tx.ReadYourWrites(id)
		if u, err = findUser(ctx, tx, id); err != nil {
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
func (s *Users) insertUser(ctx context.Context, tx *sqldb.Tx, in NewUser) (int64, error) {
	return s.db.Insert(ctx, tx, "INSERT INTO users (email, username, password_hash, role) VALUES (?, ?, ?, ?)",
		in.Email, in.Username, in.PasswordHash, string(in.Role))
}

func findUser(ctx context.Context, tx *sqldb.Tx, id int64) (*kura.User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, qUserByID, id))
	return u, sqldb.NotFound(err, "User")
}

// FindUserByID returns one user, read from the reader pool; for a
// signed-in viewer in ctx (kura.UserFromContext), from a read replica if
// one has replayed the viewer's own writes (see sqldb.Config.ReplicaURLs).
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Users) FindUserByID(ctx context.Context, id int64) (*kura.User, error) {
	var u kura.User
	var err error
	if s.db.HasReplicas() && kura.UserFromContext(ctx) != nil {
		// A viewer's read: may be stale, but never for their own writes.
		err = s.db.ReadRowStale(ctx, qUserByID, []any{id}, userDest(&u)...)
	} else {
		err = s.db.ReadRow(ctx, qUserByID, []any{id}, userDest(&u)...) // authentication and its like: always current
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", sqldb.NotFound(err, "User"))
	}
	return &u, nil
}

// FindPublicUser returns the public view of one user (ID, Username and
// CreatedAt), reading only those columns: what an anonymous GET of a user
// needs, by the primary key, prepared per connection, on a read replica
// if one fits (see sqldb.Config.ReplicaURLs).
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Users) FindPublicUser(ctx context.Context, id int64) (*kura.User, error) {
	var u kura.User
	err := s.db.ReadRowStale(ctx, qPublicUserByID, []any{id}, &u.ID, &u.Username, sqldb.Time(&u.CreatedAt))
	if err != nil {
		return nil, fmt.Errorf("find user: %w", sqldb.NotFound(err, "User"))
	}
	return &u, nil
}

// PasswordHash returns the stored password hash of a user, read from the
// reader pool. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Users) PasswordHash(ctx context.Context, id int64) (string, error) {
	var hash string
	err := s.db.ReadRow(ctx, qPasswordByID, []any{id}, &hash)
	return hash, sqldb.NotFound(err, "User")
}

// UserUpdate is a change to store: nil fields are left as they are. The
// caller has validated the fields and hashed the password.
type UserUpdate struct {
	Email        *string // put in the canonical form (see CheckEmail)
	Username     *string
	PasswordHash *string // a new hash ends the user's sessions but KeepSession
	KeepSession  string  // the digest (kura.TokenDigest) of a session a new hash leaves alive, or ""

	// Profile, if set, is a JSON Merge Patch (RFC 7396) of the profile,
	// merged onto the stored document with the row locked and held to
	// the limits of a profile (kura.MaxProfile*).
	Profile json.RawMessage
	// CheckProfile, if set, is the caller's validation of the merged
	// profile, decoded (accounts passes kura.CheckProfile); an error
	// leaves the user as it was and is returned.
	CheckProfile func(doc any) error
	// If, when set, makes the update happen only if the stored user's
	// ETag is one of its tags, checked with the row locked.
	If kura.Precondition
}

// UpdateUser changes the given fields in one transaction; a new password
// hash ends every session of the user but upd.KeepSession in the same
// transaction, and OnSessionsEnded learns of them after the commit. With
// a profile patch or a precondition (upd.If) the row is read locked
// first: the precondition is checked on it and the patch merged onto its
// profile (see lockedProfileUpdate), so that neither a concurrent update
// nor a stale client's is lost. updated_at is moved by the database (on
// MySQL, by the statement, at least a microsecond, so that the ETag
// moves too).
// Errors: ENOTFOUND, EINVALID (an email emailaddr refuses; the profile
// naming "profile" or its fields), ECONFLICT, EPRECONDITION, EUNAVAILABLE.
func (s *Users) UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*kura.User, error) {
	if err := CheckEmail(upd.Email, nil); err != nil {
		return nil, err
	}
	var sets []string
	var args []any
	if upd.Email != nil { // an address set without a confirmed link is not verified
		sets, args = append(sets, "email = ?", "email_verified_at = NULL"), append(args, *upd.Email)
	}
	if upd.Username != nil {
		sets, args = append(sets, "username = ?"), append(args, *upd.Username)
	}
	if upd.PasswordHash != nil {
		sets, args = append(sets, "password_hash = ?"), append(args, *upd.PasswordHash)
	}
	if len(sets) == 0 && upd.Profile == nil {
		return s.findUserIf(ctx, id, upd.If)
	}
	var u *kura.User
	var ended []string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
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
		if s.db.Dialect() == sqldb.MySQL {
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
		if upd.PasswordHash != nil {
			if ended, err = s.endSessions(ctx, tx, id, upd.KeepSession); err != nil {
				return err
			}
		}
		u, err = findUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	s.sessionsEnded(ctx, ended)
	return u, nil
}

// endSessions deletes the sessions of a user in tx, but the one whose
// digest is keep ("" for none), and returns their digests
// (kura.TokenDigest), so a cache can forget exactly those. On PostgreSQL
// and SQLite one DELETE ... RETURNING does it; on MySQL the rows are read
// FOR UPDATE first, which also keeps new sessions of the user out until
// the transaction ends.
func (s *Users) endSessions(ctx context.Context, tx *sqldb.Tx, userID int64, keep string) ([]string, error) {
	cond, args := "user_id = ?", []any{userID}
	if h, err := hex.DecodeString(keep); err == nil && len(h) > 0 {
		cond, args = cond+" AND token_hash <> ?", append(args, h)
	}
	d := s.db.Dialect()
	rows, err := tx.QueryContext(ctx, endSessionsQuery(d, cond), args...)
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
	if d == sqldb.MySQL {
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE "+cond, args...)
	}
	return digests, err
}

// DeleteUser removes a user; their sessions go with them (ON DELETE
// CASCADE). Deleting the last active admin is refused (kura.ErrLastAdmin;
// see targetOf). Errors: ENOTFOUND, ECONFLICT, EUNAVAILABLE.
func (s *Users) DeleteUser(ctx context.Context, id int64) error {
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := s.deleteUser(ctx, tx, id)
		return err
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
// (see filtered).
// Errors: EINVALID (bad cursor or sizes), EBADREQUEST (a filter by another
// field), EUNAVAILABLE.
func (s *Users) ListUsers(ctx context.Context, opt kura.ListOptions) (*kura.UserList, error) {
	l := usersNewestFirst
	if opt.Filter.Field != "" {
		var err error
		if l, err = s.filtered(opt.Filter); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		opt.Filter = kura.Filter{}
	}
	p, err := sqldb.List(ctx, s.db, opt, l)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return p, nil
}

// userBaseCols are a user's columns but the profile, in the order of
// userBaseDest (ts: see sqldb.Rebind): what a login reads.
const userBaseCols = "id, email, username, role, disabled, ts(created_at), ts(updated_at), ts(email_verified_at)"

// userCols are the columns scanned by scanUser, in order. The profile
// comes with the row: reading the user reads no other table.
const userCols = userBaseCols + ", profile"

func scanUser(r sqldb.Scanner) (*kura.User, error) {
	var u kura.User
	if err := r.Scan(userDest(&u)...); err != nil {
		return nil, err
	}
	return &u, nil
}

// userDest returns the destinations of userCols in u.
func userDest(u *kura.User) []any {
	return append(userBaseDest(u), (*sqldb.JSON)(&u.Profile))
}

// userBaseDest returns the destinations of userBaseCols in u.
func userBaseDest(u *kura.User) []any {
	return []any{&u.ID, &u.Email, &u.Username, &u.Role, flagCol{&u.Disabled}, sqldb.Time(&u.CreatedAt), sqldb.Time(&u.UpdatedAt), sqldb.NullTime(&u.EmailVerifiedAt)}
}

// conflict turns a unique violation on users.email or users.username into
// a kura.ECONFLICT error naming the field; other errors pass through.
func conflict(err error) error { return sqldb.Conflict(err, "username", "email") }
