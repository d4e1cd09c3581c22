package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

var _ kura.ConditionalUserDeleter = (*Users)(nil)

// profileLimits are the limits of a profile document the store keeps
// (kura.MaxProfile*): what any profile must be to be stored, whoever
// writes it. What its fields mean is the caller's to check
// (UserUpdate.CheckProfile).
var profileLimits = sqldb.JSONLimits{
	Field:     "profile",
	MaxBytes:  kura.MaxProfileBytes,
	MaxDepth:  kura.MaxProfileDepth,
	MaxKeys:   kura.MaxProfileKeys,
	MaxString: kura.MaxProfileString,
	MaxItems:  kura.MaxProfileItems,
}

// profileFilters are the profile fields ListUsers filters by, each indexed
// by migration 00010 with sqldb.JSONField's pattern, by their API names
// (kura.ProfileFilters).
var profileFilters = map[string]sqldb.JSONField{
	"profile.city": {Column: "profile", Path: []string{"city"}, Generated: "profile_city", MaxLen: kura.MaxProfileCity},
}

// mysqlMoveUpdatedAt moves updated_at on MySQL by at least a microsecond:
// ON UPDATE CURRENT_TIMESTAMP(6) alone could leave it, and so the ETag,
// unchanged by two updates within one microsecond. PostgreSQL's and
// SQLite's triggers do the same.
const mysqlMoveUpdatedAt = "updated_at = GREATEST(CURRENT_TIMESTAMP(6), updated_at + INTERVAL 1 MICROSECOND)"

// findUserIf reads the user from the writer's side (kura.WithFreshReads:
// a precondition is never checked against a replica's stale copy) and
// checks p on it: the update that changes nothing.
// Errors: ENOTFOUND, EPRECONDITION, EUNAVAILABLE.
func (s *Users) findUserIf(ctx context.Context, id int64, p kura.Precondition) (*kura.User, error) {
	if !p.Set() {
		return s.FindUserByID(ctx, id)
	}
	u, err := s.FindUserByID(kura.WithFreshReads(ctx), id)
	if err == nil {
		err = p.Check(u)
	}
	return u, err
}

// lockedProfileUpdate reads the user with the row locked
// (sqldb.ForUpdate), checks upd.If on it, and merges upd.Profile, if set,
// onto its profile, checked by profileLimits and upd.CheckProfile. It
// returns the user as read and the new document, nil when there is no
// patch or it changes nothing.
// Errors: ENOTFOUND, EPRECONDITION, EINVALID naming "profile" or its
// fields.
func (s *Users) lockedProfileUpdate(ctx context.Context, tx *sqldb.Tx, id int64, upd UserUpdate) (*kura.User, sqldb.JSON, error) {
	cur, err := s.lockUser(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := upd.If.Check(cur); err != nil {
		return nil, nil, err
	}
	if upd.Profile == nil {
		return cur, nil, nil
	}
	doc, err := sqldb.MergePatchChecked(cur.Profile, upd.Profile, profileLimits, true, upd.CheckProfile)
	if err != nil {
		return nil, nil, err
	}
	if old, err := sqldb.CanonicalJSON(cur.Profile); err == nil && bytes.Equal(old, doc) {
		return cur, nil, nil
	}
	return cur, doc, nil
}

// lockUser reads the user in tx with its row locked until tx ends.
// Errors: ENOTFOUND.
func (s *Users) lockUser(ctx context.Context, tx *sqldb.Tx, id int64) (*kura.User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, qUserByID+sqldb.ForUpdate(s.db.Dialect()), id))
	return u, sqldb.NotFound(err, "User")
}

// DeleteUserIf deletes the user if it still matches p, checked with the
// row locked in the deleting transaction; the zero p is DeleteUser.
// Errors: ENOTFOUND, EPRECONDITION, EUNAVAILABLE.
func (s *Users) DeleteUserIf(ctx context.Context, id int64, p kura.Precondition) error {
	if !p.Set() {
		return s.DeleteUser(ctx, id)
	}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// The active admins first, then the user: the order every change
		// that may remove an admin locks in (see targetOf).
		if _, err := s.targetOf(ctx, tx, id, true); err != nil {
			return err
		}
		cur, err := s.lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := p.Check(cur); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, qDeleteUser, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// filtered returns the user list filtered by f: Where the field's
// expression (sqldb.JSONField.Expr: the indexed expression on PostgreSQL
// and SQLite, the indexed generated column on MySQL) equals the value.
// Errors: EBADREQUEST naming the field and the allowed ones.
func (s *Users) filtered(f kura.Filter) (sqldb.NewestFirst[*kura.User], error) {
	field, ok := profileFilters[f.Field]
	if !ok {
		allowed := strings.Join(kura.ProfileFilters, ", ")
		return sqldb.NewestFirst[*kura.User]{}, &kura.Error{Code: kura.EBADREQUEST,
			Message: fmt.Sprintf("Users cannot be filtered by %q; filter by one of: %s.", f.Field, allowed),
			Fields:  map[string]string{f.Field: "cannot be filtered by; filter by one of: " + allowed}}
	}
	l := usersNewestFirst
	l.Where, l.Args = field.Expr(s.db.Dialect())+" = ?", []any{f.Value}
	return l, nil
}

// usersByCity is the list ListUsers filters by profile.city, for
// Statements.
func usersByCity(d sqldb.Dialect) sqldb.NewestFirst[*kura.User] {
	l := usersNewestFirst
	l.Where = profileFilters["profile.city"].Expr(d) + " = ?"
	return l
}
