package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// The writes of the account flows (package accounts), each in the caller's
// transaction, beside the token it spends (Tokens.Consume).

// UserIDByEmail returns the id of the user whose email is email (in the
// canonical form, see CheckEmail), in tx. Errors: sql.ErrNoRows.
func (s *Users) UserIDByEmail(ctx context.Context, tx *sqldb.Tx, email string) (int64, error) {
	cond := "email = ?"
	if s.db.Dialect() == sqldb.Postgres {
		cond = "lower(email) = lower(?)"
	}
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM users WHERE "+cond, email).Scan(&id)
	return id, err
}

// FindUserTx returns user id as tx sees it. Errors: ENOTFOUND.
func (s *Users) FindUserTx(ctx context.Context, tx *sqldb.Tx, id int64) (*kura.User, error) {
	return findUser(ctx, tx, id)
}

// EmailTaken reports whether a user other than id has the address email,
// in tx.
func (s *Users) EmailTaken(ctx context.Context, tx *sqldb.Tx, id int64, email string) (bool, error) {
	other, err := s.UserIDByEmail(ctx, tx, email)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && other != id, err
}

// SetPasswordTx stores a new password hash of user id in tx, ends every
// session of the user and returns their digests, for OnSessionsEnded
// after the commit. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Users) SetPasswordTx(ctx context.Context, tx *sqldb.Tx, id int64, hash string) ([]string, error) {
	if err := execOne(ctx, tx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, id); err != nil {
		return nil, err
	}
	return s.endSessions(ctx, tx, id, "")
}

// SetVerifiedEmailTx makes email, which a link sent to it proved, the
// verified address of user id, in tx. Errors: ENOTFOUND, ECONFLICT naming
// "email", EUNAVAILABLE.
func (s *Users) SetVerifiedEmailTx(ctx context.Context, tx *sqldb.Tx, id int64, email string) error {
	err := execOne(ctx, tx, "UPDATE users SET email = ?, email_verified_at = ? WHERE id = ?", email, s.db.Timestamp(), id)
	return conflict(err)
}

// MarkVerifiedTx records that user id's address is verified, in tx,
// unless it was already.
func (s *Users) MarkVerifiedTx(ctx context.Context, tx *sqldb.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, "UPDATE users SET email_verified_at = ? WHERE id = ? AND email_verified_at IS NULL", s.db.Timestamp(), id)
	return err
}

// execOne runs an update of one row. Errors: ENOTFOUND when it changed
// none.
func execOne(ctx context.Context, tx *sqldb.Tx, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	return nil
}
