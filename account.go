package kura

import "context"

// InvalidLinkMessage is the one message of a link's token that cannot be
// used, whatever the reason (expired, used, tampered with, unknown, or
// outdated by a later change of the account's email or password), so that
// it tells nobody which. Its code is EBADREQUEST (400).
const InvalidLinkMessage = "Invalid or expired link."

// ErrInvalidLink returns the error of a token that cannot be used.
func ErrInvalidLink() *Error { return Errorf(EBADREQUEST, InvalidLinkMessage) }

// AccountService runs the account flows that prove an address by a link
// sent to it: email verification, password reset and email change. Each
// link carries a token that is random, stored hashed, used once, expires,
// and is bound to its purpose and to the account's email and password as
// they were when it was issued.
type AccountService interface {
	// SendVerification sends a new verification link to the account with
	// the address email, if there is one and it is not verified yet. It
	// answers alike, and does the same work, whether or not there is: the
	// look-up happens off the request path. Errors: EINVALID naming
	// "email" for a malformed address, EUNAVAILABLE.
	SendVerification(ctx context.Context, email string) error

	// VerifyEmail marks the address of the token's account verified.
	// Errors: EBADREQUEST (InvalidLinkMessage), EUNAVAILABLE.
	VerifyEmail(ctx context.Context, token string) error

	// RequestPasswordReset sends a reset link to the account with the
	// address email, if there is one; like SendVerification, it answers
	// and works alike either way. Errors: EINVALID naming "email",
	// EUNAVAILABLE.
	RequestPasswordReset(ctx context.Context, email string) error

	// ResetPassword sets the password of the token's account, ends every
	// session of it and tells its address. Errors: EINVALID naming
	// "password" (checked first: a bad password spends no token),
	// EBADREQUEST (InvalidLinkMessage), EUNAVAILABLE.
	ResetPassword(ctx context.Context, token, password string) error

	// RequestEmailChange sends a link to newEmail that makes it the
	// address of the user; nothing changes until it is followed.
	// Errors: EINVALID naming "email", ECONFLICT naming "email" (taken),
	// ENOTFOUND, EUNAVAILABLE.
	RequestEmailChange(ctx context.Context, userID int64, newEmail string) error

	// ConfirmEmailChange makes the token's new address the account's,
	// verified, and tells the old address. Errors: EBADREQUEST
	// (InvalidLinkMessage), ECONFLICT naming "email" (taken meanwhile),
	// EUNAVAILABLE.
	ConfirmEmailChange(ctx context.Context, token string) error
}
