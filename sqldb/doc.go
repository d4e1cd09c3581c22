// Package sqldb is the engine toolkit of kura and of any application built
// on it, for SQLite, PostgreSQL and MySQL/MariaDB through database/sql:
// Open (pools, TLS policy, secrets kept out of errors), versioned
// migrations in sets, a small toolkit for writing a query once for every
// engine, the classification of outages, pool stats, read replicas, and
// the operational primitives several packages share (instances, identity,
// the read-only switch). kura's own stores are package store, built with
// this toolkit; an application uses the same toolkit for its own tables:
// examples/notes is one, and docs/BUILDING.md walks through it. Nothing
// here knows kura's users or passwords.
//
// # Getting started
//
//	db, err := sqldb.Open(ctx, sqldb.Config{URL: os.Getenv("DATABASE_URL")})
//	if err != nil {
//		return err // never contains the password
//	}
//	defer db.Close()
//	// kura's tables, then the job queue's, then the app's own.
//	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema, app.Schema); err != nil {
//		return err
//	}
//	users := accounts.NewUserService(db)              // kura.UserService over store.Users
//	sessions := accounts.NewSessionService(db, 0)     // kura.SessionService, 7-day sessions
//	notifications := store.NewNotificationService(db) // kura.NotificationService
//
// An empty URL opens ./data/kura.db (the folder is created). "postgres://..."
// and "mysql://..." pick the server engines; see Config for every form.
//
// # Migrations in sets
//
// A Migrations is a set of goose SQL files, one directory per engine
// (sqlite/, postgres/, mysql/), usually embedded, plus optional versions
// written in Go. A set that finds nothing for the engine is an error that
// names the set, the folder it looked in and what its FS holds instead. Each set records its versions in a table of its own, so
// an application's version 1 never meets kura's: store.Schema is kura's set,
// jobs.Schema the job queue's, and an application declares its own and
// passes it last to MigrateUp. MigrateDown undoes one step of the last set
// that has one; MigrationStatus lists every set. On PostgreSQL each set is
// applied under an advisory lock, so instances that start together
// migrate once.
//
// # Writing a query once for every engine
//
// Write ? placeholders and pass values as they are, a time.Time included:
// the Tx that DB.InTx hands its function and the Querier of DB.Read run
// the query in the engine's form themselves ($1.. on PostgreSQL; every
// time.Time, *time.Time and sql.NullTime argument in UTC, truncated to
// what the engine keeps, as fixed-width text on SQLite), so a query that
// passes on SQLite passes on PostgreSQL and MySQL, and a time is written
// and compared one way on every engine whatever its zone. A timestamp
// column scans into a *time.Time, in UTC on every engine; selected as
// ts(col) and read with Time, it is the same value, read fastest on
// SQLite (there, ts(col) into a bare *time.Time is an error, not a wrong
// time). Every value is a bind parameter. Then:
//
//   - DB.InTx runs a function in a transaction on the writer (commit on
//     nil, roll back on an error or a panic; BEGIN IMMEDIATE on SQLite);
//     DB.Read runs one on a reader connection. Both take their connection
//     within PoolTimeout, or fail with EUNAVAILABLE (HTTP 503), and a
//     database lost while they run is EUNAVAILABLE too (DB.Unavailable).
//   - DB.Insert inserts one row and returns its id (RETURNING id, or
//     LastInsertId on MySQL); DB.Upsert inserts a row or updates the one
//     with its key (ON CONFLICT ... DO UPDATE, or ON DUPLICATE KEY UPDATE).
//   - QueryAll and ScanAll scan every row with one function; Placeholders
//     writes an IN list.
//   - List pages a table newest first, by keyset cursor or by offset, as
//     kura.ListOptions asks, into a kura.Page (see NewestFirst for the
//     index it needs).
//   - Conflict turns a unique violation into ECONFLICT naming the field;
//     NotFound turns sql.ErrNoRows into ENOTFOUND; IsForeignKeyViolation
//     and IsUniqueViolation recognise those errors on every engine.
//   - DB.Timestamp reads the injectable clock (DB.Now) once, at the
//     precision the engine stores.
//
// DB.Rebind and DB.TimeArg do by hand what Tx and Read's Querier do, for
// a query run on a pool or connection taken directly (Writer, Reader,
// WithWriter); the helpers above accept such a raw *sql.Tx or *sql.Conn
// too and convert for it.
//
// The Example shows an application's own table with all of these.
//
// # Pools
//
// The configuration vocabulary maps onto database/sql as follows:
// PoolSize is the connections kept when idle, PoolSize+MaxOverflow is
// SetMaxOpenConns (and MaxIdleConns: see setPool for why),
// ConnMaxAge is SetConnMaxLifetime, ConnMaxIdle is how often idle overflow
// connections are closed (SQLite readers: SetConnMaxIdleTime), and
// PrePing checks a connection idle for more than a second before reuse
// (pgx stdlib's OptionShouldPing; the MySQL driver's checkConnLiveness).
// PoolTimeout has no database/sql setting: every service call first takes
// a slot of a gate sized to its pool (one channel send when a connection is
// free; a timer only when the call must wait), then its connection, and
// runs its queries with the caller's context. A wait that times out
// becomes a kura.Error with code EUNAVAILABLE ("The database is busy; try
// again shortly."), which httpapi turns into 503 with Retry-After, instead
// of a request that hangs. Open bounds its first connection by
// ConnectTimeout, so an unreachable server fails fast with a clear error.
//
// # Outages
//
// A database that goes away is EUNAVAILABLE ("The database is
// unavailable; try again shortly.", HTTP 503 with Retry-After), never an
// internal error, on reads, writes, lists and transactions: DB.Unavailable
// recognises a refused, reset or cut connection, a backend terminated or a
// server shutting down or starting (PostgreSQL 57P01-57P05, class 08), a
// MySQL server gone away or a connection killed, and SQLite's BUSY or
// LOCKED past busy_timeout, and keeps the cause, scrubbed, for the log.
// InTx, Read, List and every service apply it; an application calls it
// only on queries it runs on Writer or Reader itself. After such an error
// the pool's idle connections are closed, so the next call dials afresh
// once the server is back. A call whose context ended keeps its context
// error.
//
// Ping, the health check, takes its connection through the gate but waits
// at most 100 ms: when every connection is taken and calls wait, it dials
// one connection of its own outside the pool (PostgreSQL and MySQL) and
// pings it. If the server answers, Ping returns EUNAVAILABLE wrapping
// kura.ErrBusy, which /health reports as "busy"; if not (a server that
// stopped answering fills the pool with calls waiting on it), or when a
// free connection does not answer, it returns another error
// ("unreachable").
//
// # SQLite: one writer, many readers
//
// SQLite allows one writer at a time. Instead of letting connections fight
// over the lock ("database is locked"), DB holds a writer pool of exactly
// one connection, whose transactions begin IMMEDIATE (they take the write
// lock at BEGIN, so they never fail half-way) with busy_timeout=5000 for
// other processes, journal_mode=WAL, synchronous=NORMAL and foreign keys on;
// and a reader pool of max(4, NumCPU) connections with query_only=1. In WAL
// mode readers never block the writer nor each other. Writes queue in Go for
// the writer, bounded by PoolTimeout like any other acquisition. InTx and
// every service write use the writer; reads use the reader. Stats sums both.
// Times are stored as fixed-width UTC text ('YYYY-MM-DD HH:MM:SS.SSS') in
// DATETIME columns, which the driver scans into time.Time; a time
// argument of a Tx or of Read's Querier is written in that form.
//
// # TLS policy
//
// A connection to a server that is neither on a loopback address
// (127.0.0.0/8, ::1, localhost) nor behind a unix socket must be encrypted
// without a plain-text fallback: sslmode=require, verify-ca or verify-full
// on PostgreSQL (verify-full recommended; the default "prefer" is refused),
// tls=true, skip-verify or a registered custom config on MySQL
// (tls=preferred is refused). Otherwise Open refuses with one line naming
// the fix, before any network access. Config.AllowInsecure
// (KURA_DB_ALLOW_INSECURE) opts out, and Open then logs one warning.
// PostgreSQL reaches a unix socket with ?host=/path; MySQL with
// ?socket=/path (mysql://user@localhost/db?socket=/run/mysqld/mysqld.sock).
//
// # Secrets
//
// Errors from Open, Ping, the migrations and connection failures in service
// calls have the URL's password (raw and escaped) replaced by "xxxxx";
// RedactURL does the same for logging a URL. The MySQL driver's own log
// lines go to the configured slog logger, scrubbed; goose logs nothing. A
// URL whose password holds an unescaped '@', '/', '%', '#' or '?', which
// the drivers would read in part as the host or the path and then print,
// is refused by Open (and Config.Validate, CheckURL) before any parsing
// or connection, with ErrMalformedURL, which says how to escape it.
//
// # Queries of one row on the hot path
//
// ReadRow reads one row from the reader pool as the hot reads need it:
// within the pool's gate, prepared once per connection on SQLite and
// MySQL, and through pgx itself on PostgreSQL; ReadRowStale does the same
// on a read replica that fits. kura's user by id and session by token are
// such reads (package store).
//
// Read-only mode is a switch every instance of a database sees without
// Redis: EnterReadOnly sets it in the one-row table kura_read_only and
// returns once every live instance (a kura_instances row beaten within
// ServingWindow) has recorded, through Announce, the switch's generation,
// which it does once it refuses writes and has none under way;
// LeaveReadOnly clears it, and ReadOnlyState says who has applied it. An
// instance reads it with ReadOnlyMode every ReadOnlyPollInterval.
package sqldb
