// Package store is kura's own storage, built on sqldb's toolkit: the
// users, sessions, notifications, stats, idempotency keys and cache
// invalidations of kura's tables, and Schema, the migration set that makes
// them.
//
// It stores and reads; it does not decide. A user's password arrives
// hashed and leaves as a hash (Users.CreateUser, Users.PasswordHash,
// Sessions.FindLogin): validation, argon2id hashing and the password guard
// are package accounts', which implements kura.UserService and
// kura.SessionService on this package. The notification, stats and
// idempotency stores implement kura's interfaces as they are. An email is
// stored in emailaddr's canonical form whoever writes it (CheckEmail).
//
// Start with the schema, then the stores:
//
//	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema, app.Schema); err != nil {
//		return err
//	}
//	users := accounts.NewUserService(db) // kura.UserService over store.Users
//	notifications := store.NewNotificationService(db)
//
// Email and username are unique case-insensitively on every engine (unique
// indexes on lower() on PostgreSQL, COLLATE NOCASE on SQLite, a _ci
// collation on MySQL); a violation becomes ECONFLICT naming the field.
// updated_at is maintained by the database. Users and notifications are
// listed newest first by id with sqldb.List; a login looks a user up by
// the unique email or username index; Authenticate reads a session and its
// user in one join by the unique token hash (sqldb.DB.ReadRow). Writes own
// their transactions; Users.OnCreate runs caller code in the transaction
// that creates a user, so that what it writes (a notification, a job)
// exists if and only if the user does.
//
// Packages that are kura's toolkit rather than its application (sqldb,
// jobs, backup, maintain, datamove) never import this package; its tables
// that they read by name (kura_instances, backup_runs, kura_database,
// kura_read_only) are made by Schema, since existing databases have them
// in its history.
package store
