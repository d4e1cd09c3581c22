package sqldb

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kura-dev/kura"
)

var _ kura.ConditionalUserDeleter = (*UserService)(nil)

// profileLimits are kura's limits of a profile document.
var profileLimits = JSONLimits{
	Field:     "profile",
	MaxBytes:  kura.MaxProfileBytes,
	MaxDepth:  kura.MaxProfileDepth,
	MaxKeys:   kura.MaxProfileKeys,
	MaxString: kura.MaxProfileString,
	MaxItems:  kura.MaxProfileItems,
}

// profileFilters are the profile fields ListUsers filters by, each indexed
// by migration 00010 with JSONField's pattern, by their API names
// (kura.ProfileFilters).
var profileFilters = map[string]JSONField{
	"profile.city": {Column: "profile", Path: []string{"city"}, Generated: "profile_city", MaxLen: kura.MaxProfileCity},
}

// mysqlMoveUpdatedAt moves updated_at on MySQL by at least a microsecond:
// ON UPDATE CURRENT_TIMESTAMP(6) alone could leave it, and so the ETag,
// unchanged by two updates within one microsecond. PostgreSQL's and
// SQLite's triggers do the same.
const mysqlMoveUpdatedAt = "updated_at = GREATEST(CURRENT_TIMESTAMP(6), updated_at + INTERVAL 1 MICROSECOND)"

// lockedProfileUpdate reads the user with the row locked (ForUpdate),
// checks upd.If on it, and merges upd.Profile, if set, onto its profile.
// It returns the user as read and the new document, nil when there is no
// patch or it changes nothing.
// Errors: ENOTFOUND, EPRECONDITION, EINVALID naming "profile" or its
// fields.
func (s *UserService) lockedProfileUpdate(ctx context.Context, tx *Tx, id int64, upd kura.UserUpdate) (*kura.User, JSON, error) {
	cur, err := scanUser(tx.QueryRowContext(ctx, qUserByID+ForUpdate(s.db.dialect), id))
	if err != nil {
		return nil, nil, notFound(err, "User")
	}
	if err := upd.If.Check(cur); err != nil {
		return nil, nil, err
	}
	if upd.Profile == nil {
		return cur, nil, nil
	}
	doc, err := MergePatchChecked(cur.Profile, upd.Profile, profileLimits, true, kura.CheckProfile)
	if err != nil {
		return nil, nil, err
	}
	if old, err := CanonicalJSON(cur.Profile); err == nil && bytes.Equal(old, doc) {
		return cur, nil, nil
	}
	return cur, doc, nil
}

// DeleteUserIf deletes the user if it still matches p, checked with the
// row locked in the deleting transaction; the zero p is DeleteUser.
// Errors: ENOTFOUND, EPRECONDITION, EUNAVAILABLE.
func (s *UserService) DeleteUserIf(ctx context.Context, id int64, p kura.Precondition) error {
	err := s.db.InTx(ctx, func(tx *Tx) error {
		cur, err := scanUser(tx.QueryRowContext(ctx, qUserByID+ForUpdate(s.db.dialect), id))
		if err != nil {
			return notFound(err, "User")
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
// expression (JSONField.Expr: the indexed expression on PostgreSQL and
// SQLite, the indexed generated column on MySQL) equals the value.
// Errors: EBADREQUEST naming the field and the allowed ones.
func (s *UserService) filtered(f kura.Filter) (NewestFirst[*kura.User], error) {
	field, ok := profileFilters[f.Field]
	if !ok {
		msg := "cannot be filtered by; filter by one of: " + strings.Join(kura.ProfileFilters, ", ")
		return NewestFirst[*kura.User]{}, &kura.Error{Code: kura.EBADREQUEST,
			Message: fmt.Sprintf("Users cannot be filtered by %q; filter by one of: %s.", f.Field, strings.Join(kura.ProfileFilters, ", ")),
			Fields:  map[string]string{f.Field: msg}}
	}
	l := usersNewestFirst
	l.Where, l.Args = field.Expr(s.db.dialect)+" = ?", []any{f.Value}
	return l, nil
}

// usersByCity is the list ListUsers filters by profile.city, for
// Statements.
func usersByCity(d Dialect) NewestFirst[*kura.User] {
	l := usersNewestFirst
	l.Where = profileFilters["profile.city"].Expr(d) + " = ?"
	return l
}
