package kura

import (
	"context"
	"strconv"
)

// PasswordGuard is called by a store right before it verifies a password,
// with the account the password is checked for (see UserAccount and
// UnknownAccount). It returns nil when the check may go on, having waited
// first if it must, or an error, such as an ERATELIMITED one, that the
// store returns at once, wrapped, without checking the password.
//
// The HTTP server installs one per request (WithPasswordGuard) to limit
// password guesses per account, whatever spelling of the login a guesser
// types: the store is the one that knows which account a login is.
type PasswordGuard func(ctx context.Context, account string) error

type passwordGuardKey struct{}

// WithPasswordGuard returns a copy of ctx carrying g, which the stores
// call through GuardPasswordCheck.
func WithPasswordGuard(ctx context.Context, g PasswordGuard) context.Context {
	return context.WithValue(ctx, passwordGuardKey{}, g)
}

// GuardPasswordCheck runs the PasswordGuard of ctx, if any, for account.
// A store calls it right before every verification of a password, for an
// account that exists and, with the same cost and answer, for one that
// does not; it returns the guard's error as is (nil without a guard).
func GuardPasswordCheck(ctx context.Context, account string) error {
	if g, _ := ctx.Value(passwordGuardKey{}).(PasswordGuard); g != nil {
		return g(ctx, account)
	}
	return nil
}

// UserAccount is the account a store passes to GuardPasswordCheck for the
// user with the given id, however the login named them (email or
// username, in any spelling the store matches).
func UserAccount(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// UnknownAccount is the account a store passes to GuardPasswordCheck for
// a login that matches no user: the login in the one form the store
// compares logins in (for kura's stores, emailaddr's canonical form of an
// email, a username lower-cased), so that every spelling of it meets one
// limit, as every spelling of a known login does.
func UnknownAccount(canonicalLogin string) string { return "login:" + canonicalLogin }
