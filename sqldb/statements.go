package sqldb

import "github.com/kura-dev/kura"

// Statement is one of the statements a store runs on its hot paths, by
// name, in the text it runs: written once for every engine (? and ts(col),
// see Rebind). Tools that look at query plans take a list of them, such as
// the unused-index report of package maintain, which EXPLAINs each on
// SQLite; an application adds its own store's.
type Statement struct {
	Name  string // such as "users.by_id"
	Query string
}

// The text of the services' statements. Each is used where it runs and
// listed in Statements, so a plan checked is the plan served.
const (
	qUserByID       = "SELECT " + userCols + " FROM users WHERE id = ?"
	qPublicUserByID = "SELECT id, username, ts(created_at) FROM users WHERE id = ?"
	qPasswordByID   = "SELECT password_hash FROM users WHERE id = ?"
	qDeleteUser     = "DELETE FROM users WHERE id = ?"

	qAuthenticate = `
		SELECT s.id, ts(s.created_at), ts(s.expires_at),
		       u.id, u.email, u.username, u.role, ts(u.created_at), ts(u.updated_at), u.profile
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ?`
	qLogout                = "DELETE FROM sessions WHERE token_hash = ?"
	qDeleteExpiredSessions = "DELETE FROM sessions WHERE expires_at <= ?"

	qNotificationByKey = "SELECT id, ts(created_at) FROM notifications WHERE idempotency_key = ?"

	qStatsUsers = `
		SELECT COUNT(*),
		       COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0),
		       COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0)
		FROM users`
	qStatsSessions = "SELECT COUNT(*) FROM sessions WHERE expires_at > ?"

	qIdemRow = `SELECT fingerprint, claim, status, headers, body, ts(created_at), ts(claimed_at)
		FROM idempotency_keys WHERE scope = ? AND idem_key = ?`
	qIdemRenew = `UPDATE idempotency_keys SET fingerprint = ?, claim = ?, status = 0, headers = NULL, body = NULL,
		created_at = ?, claimed_at = ? WHERE scope = ? AND idem_key = ? AND created_at < ?`
	qIdemTakeOver = `UPDATE idempotency_keys SET claim = ?, claimed_at = ?
		WHERE scope = ? AND idem_key = ? AND claim = ? AND status = 0 AND claimed_at < ?`
	qIdemComplete = `UPDATE idempotency_keys SET status = ?, headers = ?, body = ?
		WHERE scope = ? AND idem_key = ? AND claim = ? AND status = 0`
	qIdemRelease = `DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND claim = ? AND status = 0`
	qIdemExpired = `DELETE FROM idempotency_keys WHERE created_at < ?`
)

// loginQuery returns the query of a login by col ("email" or
// "username"): case-insensitive by the column's collation on SQLite and
// MySQL, and by the unique index on lower(col) on PostgreSQL.
func loginQuery(d Dialect, col string) string {
	cond := col + " = ?"
	if d == Postgres {
		cond = "lower(" + col + ") = lower(?)"
	}
	return "SELECT id, email, username, role, ts(created_at), ts(updated_at), password_hash FROM users WHERE " + cond
}

// endSessionsQuery returns the statement that ends the sessions matching
// cond and returns their digests: DELETE ... RETURNING, or on MySQL a
// locking read the DELETE follows.
func endSessionsQuery(d Dialect, cond string) string {
	if d == MySQL {
		return "SELECT token_hash FROM sessions WHERE " + cond + " FOR UPDATE"
	}
	return "DELETE FROM sessions WHERE " + cond + " RETURNING token_hash"
}

// The lists of the services (see List).
var (
	usersNewestFirst = NewestFirst[*kura.User]{
		Columns: userCols, Table: "users", Scan: scanUser, ID: func(u *kura.User) int64 { return u.ID },
	}
	notificationsNewestFirst = NewestFirst[*kura.Notification]{
		Columns: notificationCols, Table: "notifications", Where: "user_id = ?",
		Scan: scanNotification, ID: func(n *kura.Notification) int64 { return n.ID },
	}
)

// Statements returns the statements kura's services (users, sessions,
// notifications, stats, idempotency keys) run on the dialect's hot paths,
// each as it runs. Inserts are left out: they read no index a plan could choose.
func Statements(d Dialect) []Statement {
	return []Statement{
		{"users.by_id", qUserByID},
		{"users.public_by_id", qPublicUserByID},
		{"users.password_by_id", qPasswordByID},
		{"users.delete", qDeleteUser},
		{"users.list", usersNewestFirst.query(listFirst)},
		{"users.list_after", usersNewestFirst.query(listAfter)},
		{"users.list_count", usersNewestFirst.query(listCount)},
		{"users.list_page", usersNewestFirst.query(listOffset)},
		{"users.list_by_city", usersByCity(d).query(listFirst)},
		{"users.list_by_city_after", usersByCity(d).query(listAfter)},
		{"users.list_by_city_count", usersByCity(d).query(listCount)},
		{"sessions.login_by_email", loginQuery(d, "email")},
		{"sessions.login_by_username", loginQuery(d, "username")},
		{"sessions.authenticate", qAuthenticate},
		{"sessions.logout", qLogout},
		{"sessions.delete_expired", qDeleteExpiredSessions},
		{"sessions.end_others", endSessionsQuery(d, "user_id = ? AND token_hash <> ?")},
		{"notifications.by_key", qNotificationByKey},
		{"notifications.list", notificationsNewestFirst.query(listFirst)},
		{"notifications.list_after", notificationsNewestFirst.query(listAfter)},
		{"notifications.list_count", notificationsNewestFirst.query(listCount)},
		{"stats.users", qStatsUsers},
		{"stats.sessions", qStatsSessions},
		{"idempotency_keys.by_key", qIdemRow},
		{"idempotency_keys.take_over", qIdemTakeOver},
		{"idempotency_keys.complete", qIdemComplete},
		{"idempotency_keys.release", qIdemRelease},
		{"idempotency_keys.delete_expired", qIdemExpired},
	}
}
