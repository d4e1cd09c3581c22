package store

import (
	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// The text of the services' statements. Each is used where it runs and
// listed in Statements, so a plan checked is the plan served.
const (
	qUserByID       = "SELECT " + userCols + " FROM users WHERE id = ?"
	qPublicUserByID = "SELECT id, username, ts(created_at) FROM users WHERE id = ?"
	qPasswordByID   = "SELECT password_hash FROM users WHERE id = ?"
	qDeleteUser     = "DELETE FROM users WHERE id = ?"
	qActiveAdmins   = "SELECT id FROM users WHERE role = 'admin' AND disabled = 0 ORDER BY id"
	qAuditInsert    = `INSERT INTO audit_log (created_at, actor_id, actor, action, target_id, detail)
		VALUES (?, ?, ?, ?, ?, ?)`

	qAuthenticate = `
		SELECT s.id, ts(s.created_at), ts(s.expires_at),
		       u.id, u.email, u.username, u.role, u.disabled, ts(u.created_at), ts(u.updated_at), ts(u.email_verified_at), u.profile
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
func loginQuery(d sqldb.Dialect, col string) string {
	cond := col + " = ?"
	if d == sqldb.Postgres {
		cond = "lower(" + col + ") = lower(?)"
	}
	return "SELECT " + userBaseCols + ", password_hash FROM users WHERE " + cond
}

// endSessionsQuery returns the statement that ends the sessions matching
// cond and returns their digests: DELETE ... RETURNING, or on MySQL a
// locking read the DELETE follows.
func endSessionsQuery(d sqldb.Dialect, cond string) string {
	if d == sqldb.MySQL {
		return "SELECT token_hash FROM sessions WHERE " + cond + " FOR UPDATE"
	}
	return "DELETE FROM sessions WHERE " + cond + " RETURNING token_hash"
}

// The lists of the services (see List).
var (
	usersNewestFirst = sqldb.NewestFirst[*kura.User]{
		Columns: userCols, Table: "users", Scan: scanUser, ID: func(u *kura.User) int64 { return u.ID },
	}
	auditNewestFirst = sqldb.NewestFirst[*kura.AuditEntry]{
		Columns: auditCols, Table: "audit_log", Scan: scanAudit, ID: func(e *kura.AuditEntry) int64 { return e.ID },
	}
	notificationsNewestFirst = sqldb.NewestFirst[*kura.Notification]{
		Columns: notificationCols, Table: "notifications", Where: "user_id = ?",
		Scan: scanNotification, ID: func(n *kura.Notification) int64 { return n.ID },
	}
)

// Statements returns the statements kura's services (users, sessions,
// notifications, stats, idempotency keys) run on the dialect's hot paths,
// each as it runs. Inserts are left out: they read no index a plan could choose.
func Statements(d sqldb.Dialect) []sqldb.Statement {
	return []sqldb.Statement{
		{Name: "users.by_id", Query: qUserByID},
		{Name: "users.public_by_id", Query: qPublicUserByID},
		{Name: "users.password_by_id", Query: qPasswordByID},
		{Name: "users.delete", Query: qDeleteUser},
		{Name: "users.list", Query: usersNewestFirst.Query(sqldb.ListFirst)},
		{Name: "users.list_after", Query: usersNewestFirst.Query(sqldb.ListAfter)},
		{Name: "users.list_count", Query: usersNewestFirst.Query(sqldb.ListCount)},
		{Name: "users.list_page", Query: usersNewestFirst.Query(sqldb.ListOffset)},
		{Name: "users.active_admins", Query: qActiveAdmins},
		{Name: "audit_log.list", Query: auditNewestFirst.Query(sqldb.ListFirst)},
		{Name: "audit_log.list_after", Query: auditNewestFirst.Query(sqldb.ListAfter)},
		{Name: "users.list_by_city", Query: usersByCity(d).Query(sqldb.ListFirst)},
		{Name: "users.list_by_city_after", Query: usersByCity(d).Query(sqldb.ListAfter)},
		{Name: "users.list_by_city_count", Query: usersByCity(d).Query(sqldb.ListCount)},
		{Name: "sessions.login_by_email", Query: loginQuery(d, "email")},
		{Name: "sessions.login_by_username", Query: loginQuery(d, "username")},
		{Name: "sessions.authenticate", Query: qAuthenticate},
		{Name: "sessions.logout", Query: qLogout},
		{Name: "sessions.delete_expired", Query: qDeleteExpiredSessions},
		{Name: "sessions.end_others", Query: endSessionsQuery(d, "user_id = ? AND token_hash <> ?")},
		{Name: "notifications.by_key", Query: qNotificationByKey},
		{Name: "notifications.list", Query: notificationsNewestFirst.Query(sqldb.ListFirst)},
		{Name: "notifications.list_after", Query: notificationsNewestFirst.Query(sqldb.ListAfter)},
		{Name: "notifications.list_count", Query: notificationsNewestFirst.Query(sqldb.ListCount)},
		{Name: "stats.users", Query: qStatsUsers},
		{Name: "stats.sessions", Query: qStatsSessions},
		{Name: "idempotency_keys.by_key", Query: qIdemRow},
		{Name: "idempotency_keys.take_over", Query: qIdemTakeOver},
		{Name: "idempotency_keys.complete", Query: qIdemComplete},
		{Name: "idempotency_keys.release", Query: qIdemRelease},
		{Name: "idempotency_keys.delete_expired", Query: qIdemExpired},
	}
}
