package doctor

// Checks is the security checklist, in the order kura doctor prints it
// (docs/SECURITY.md's table lists the same names, held by a test).
var Checks = []Check{
	{"secrets", "the secrets (database, Redis passwords, the metrics token) come from the environment or a .env file git does not track", Fail, checkSecrets},
	{"env-file", "the .env file, if any, is 0600 and ignored by git", Fail, checkEnvFile},
	{"database-tls", "each database URL is local or uses TLS that checks the certificate and name", Fail, checkDatabaseTLS},
	{"database-role", "the role the application serves with is not a superuser, owns nothing of the schema and cannot change it", Fail, checkDatabaseRole},
	{"backups", "a backup succeeded lately, one passed a verify lately, and backup verify can make its scratch database", Fail, checkBackups},
	{"sqlite-file", "the SQLite file and its -wal and -shm are 0600, its folder closed to others", Fail, checkSQLiteFile},
	{"read-replicas", "each read replica is reached safely, is a standby, and serves reads within the lag bound", Fail, checkReplicas},
	{"redis", "a Redis off loopback has a password and TLS", Fail, checkRedis},
	{"admin", "an admin account exists", Warn, checkAdmin},
	{"sessions", "sessions live 30 days or less and the password hash meets OWASP's argon2id minimum", Fail, checkSessions},
	{"rate-limits", "the rate limits are on", Warn, checkRateLimits},
	{"metrics", "the metrics are on loopback or need a token", Fail, checkMetrics},
}
