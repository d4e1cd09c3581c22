// Package accounts is kura's accounts above storage: it implements
// kura.UserService and kura.SessionService on package store, doing what
// the store must not, namely validating the input, hashing passwords with
// argon2id (package password) and verifying them behind the password
// guard of the request (kura.GuardPasswordCheck). The store only stores
// and reads hashes.
//
//	users := accounts.NewUserService(db)        // kura.UserService
//	sessions := accounts.NewSessionService(db, 0) // kura.SessionService
//	users.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error { ... }
//
// Each embeds its store (UserService.Users, SessionService.Sessions), so
// the store's reads, its hooks (OnCreate, OnSessionsEnded) and the rest of
// the interfaces (FindUserByID, Authenticate, ...) are reached through it
// at the store's own cost: the hot reads pass through untouched.
package accounts
