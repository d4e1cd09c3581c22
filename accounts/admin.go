package accounts

import "github.com/kura-dev/kura"

// MayLogIn reports whether u may start a session: not when an admin has
// disabled the account. Login checks it after verifying the password and
// answers a disabled account exactly as a wrong password (401, same body,
// same work), so that a login tells nobody which accounts are disabled.
func MayLogIn(u *kura.User) bool { return u != nil && !u.Disabled }

// MayResetPassword reports whether u may reset a forgotten password or be
// sent a link to: not when the account is disabled, since a reset would
// otherwise hand a disabled account a new password (its sessions would
// still be refused, but the reset mail would say otherwise). A flow that
// has only the user's id asks store.Users.Disabled.
func MayResetPassword(u *kura.User) bool { return u != nil && !u.Disabled }
