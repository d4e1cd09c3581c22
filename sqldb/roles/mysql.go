package roles

import "strings"

// mysqlStatements makes the roles on MySQL/MariaDB: the migration role
// has every right on the database and on the scratch databases of
// backups, the application role reads and writes rows.
func mysqlStatements(r Spec) []Statement {
	account := func(name string) string { return Literal(name) + "@" + Literal(r.Host) }
	// In a GRANT, _ in a database name is a wildcard unless escaped.
	m, a, db := account(r.Migrate), account(r.App), myIdent(strings.ReplaceAll(r.Database, "_", `\_`))
	return []Statement{
		{Comment: "The migration role: every right on kura's database and nothing beyond it (KURA_MIGRATE_DATABASE_URL).",
			SQL: "CREATE USER IF NOT EXISTS " + m + " IDENTIFIED BY " + passwordMark, Password: r.Migrate},
		{SQL: "ALTER USER " + m + " IDENTIFIED BY " + passwordMark, Password: r.Migrate},
		{SQL: "GRANT ALL PRIVILEGES ON " + db + ".* TO " + m},
		{Comment: "And on the scratch databases of its backups, nothing else of the server: backup verify restores into kura_verify_…, backup restore loads into kura_restore_… before it swaps the tables in.",
			SQL: "GRANT ALL PRIVILEGES ON " + ScratchPattern("kura_verify_") + ".* TO " + m},
		{SQL: "GRANT ALL PRIVILEGES ON " + ScratchPattern("kura_restore_") + ".* TO " + m},
		{Comment: "The application role: rows of kura's tables (kura_jobs included), nothing else (DATABASE_URL of kura serve).",
			SQL: "CREATE USER IF NOT EXISTS " + a + " IDENTIFIED BY " + passwordMark, Password: r.App},
		{SQL: "ALTER USER " + a + " IDENTIFIED BY " + passwordMark, Password: r.App},
		{SQL: "GRANT SELECT, INSERT, UPDATE, DELETE ON " + db + ".* TO " + a},
	}
}

// ScratchPattern is the quoted MySQL database pattern of a GRANT that
// matches the names starting with prefix: its _ escaped, then %.
func ScratchPattern(prefix string) string {
	return myIdent(strings.ReplaceAll(prefix, "_", `\_`) + "%")
}
