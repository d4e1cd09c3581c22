package accounts

import (
	"context"
	"fmt"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/password"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// VerifyEmail marks the address of the token's account verified (see
// kura.AccountService).
func (f *Flows) VerifyEmail(ctx context.Context, token string) error {
	var id int64
	err := f.db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, u, err := f.tokens.Consume(ctx, tx, token, store.PurposeVerifyEmail)
		if err != nil {
			return err
		}
		id = u.ID
		return f.users.MarkVerifiedTx(ctx, tx, u.ID)
	})
	if err != nil {
		return fmt.Errorf("verify email: %w", err)
	}
	f.changed(ctx, id, nil)
	return nil
}

// ResetPassword sets the password of the token's account, through the
// password rules and hashing of CreateUser, ends every session of it and
// sends password_changed to its address, in one transaction; the link
// also proves the address, which is marked verified (see
// kura.AccountService). The password is hashed before the transaction,
// whatever the token: a bad token costs what a good one does.
func (f *Flows) ResetPassword(ctx context.Context, token, pw string) error {
	upd := kura.UserUpdate{Password: &pw}
	if err := upd.Validate(); err != nil {
		return err
	}
	hash, err := password.HashContext(ctx, pw)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	var id int64
	var ended []string
	err = f.db.InTx(ctx, func(tx *sqldb.Tx) error {
		tok, u, err := f.tokens.Consume(ctx, tx, token, store.PurposePasswordReset)
		if err != nil {
			return err
		}
		id = u.ID
		if ended, err = f.users.SetPasswordTx(ctx, tx, u.ID, hash); err != nil {
			return err
		}
		if err := f.users.MarkVerifiedTx(ctx, tx, u.ID); err != nil {
			return err
		}
		key := fmt.Sprintf("password_changed:%d:%d", u.ID, tok.ID)
		return f.send(ctx, tx, "password_changed", key, u.Email, mail.Data{Name: u.Username, Email: u.Email})
	})
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	f.changed(ctx, id, ended)
	return nil
}

// RequestEmailChange sends the link that makes newEmail the user's
// address to newEmail (see kura.AccountService). Asking for the address
// the user has already sends nothing.
func (f *Flows) RequestEmailChange(ctx context.Context, userID int64, newEmail string) error {
	newEmail = kura.NormalizeEmail(newEmail)
	upd := kura.UserUpdate{Email: &newEmail}
	if err := store.CheckEmail(upd.Email, upd.Validate); err != nil {
		return err
	}
	err := f.db.InTx(ctx, func(tx *sqldb.Tx) error {
		u, err := f.users.FindUserTx(ctx, tx, userID)
		if err != nil || u.Email == newEmail {
			return err
		}
		if taken, err := f.users.EmailTaken(ctx, tx, userID, newEmail); err != nil {
			return err
		} else if taken {
			return kura.FieldError(kura.ECONFLICT, "email", "is already taken")
		}
		return f.issueAndSend(ctx, tx, u, store.PurposeEmailChange, newEmail, newEmail)
	})
	if err != nil {
		return fmt.Errorf("request email change: %w", err)
	}
	return nil
}

// ConfirmEmailChange makes the token's address the account's, verified,
// and sends email_changed to the old address, in one transaction (see
// kura.AccountService).
func (f *Flows) ConfirmEmailChange(ctx context.Context, token string) error {
	var id int64
	err := f.db.InTx(ctx, func(tx *sqldb.Tx) error {
		tok, u, err := f.tokens.Consume(ctx, tx, token, store.PurposeEmailChange)
		if err != nil {
			return err
		}
		id = u.ID
		if err := f.users.SetVerifiedEmailTx(ctx, tx, u.ID, tok.NewEmail); err != nil {
			return err
		}
		key := fmt.Sprintf("email_changed:%d:%d", u.ID, tok.ID)
		return f.send(ctx, tx, "email_changed", key, u.Email, mail.Data{Name: u.Username, Email: tok.NewEmail})
	})
	if err != nil {
		return fmt.Errorf("confirm email change: %w", err)
	}
	f.changed(ctx, id, nil)
	return nil
}
