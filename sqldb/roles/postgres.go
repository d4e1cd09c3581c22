package roles

// postgresStatements makes the roles on PostgreSQL: the migration role
// owns the schema and what is in it, the application role reads and
// writes the rows of every table, now and later.
func postgresStatements(r Spec, exists func(string) bool) []Statement {
	m, a, db, sc := pgIdent(r.Migrate), pgIdent(r.App), pgIdent(r.Database), pgIdent(r.Schema)
	role := func(name, comment string) Statement {
		verb := "CREATE"
		if exists(name) {
			verb = "ALTER"
		}
		return Statement{Comment: comment, Password: name,
			SQL: verb + " ROLE " + pgIdent(name) + " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD " + passwordMark}
	}
	return []Statement{
		role(r.Migrate, "The migration role: owns kura's schema and runs the migrations (KURA_MIGRATE_DATABASE_URL)."),
		role(r.App, "The application role: reads and writes rows, nothing else (DATABASE_URL of kura serve)."),
		{Comment: "Only the two roles (and superusers) may connect; nobody else may make temporary tables.",
			SQL: "REVOKE ALL ON DATABASE " + db + " FROM PUBLIC"},
		{SQL: "GRANT CONNECT ON DATABASE " + db + " TO " + m + ", " + a},
		{Comment: "The migration role owns the schema and whatever is in it already.",
			SQL: "ALTER SCHEMA " + sc + " OWNER TO " + m},
		{SQL: pgReassignSQL(r)},
		{Comment: "Nobody else may create objects in it.",
			SQL: "REVOKE CREATE ON SCHEMA " + sc + " FROM PUBLIC"},
		{SQL: "REVOKE CREATE ON SCHEMA " + sc + " FROM " + a},
		{Comment: "The application role: rows of kura's tables (River's job tables included), its sequences.",
			SQL: "GRANT USAGE ON SCHEMA " + sc + " TO " + a},
		{SQL: "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + sc + " TO " + a},
		{SQL: "GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + sc + " TO " + a},
		{Comment: "And the same on the tables and sequences later migrations make.",
			SQL: "ALTER DEFAULT PRIVILEGES FOR ROLE " + m + " IN SCHEMA " + sc + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + a},
		{SQL: "ALTER DEFAULT PRIVILEGES FOR ROLE " + m + " IN SCHEMA " + sc + " GRANT USAGE ON SEQUENCES TO " + a},
	}
}

// pgReassignSQL gives the migration role the tables, views, functions and
// types already in the schema (made by another role, such as migrations
// run as the superuser), so that later migrations may change them. An
// extension's objects stay its own; a column's sequence follows its table.
func pgReassignSQL(r Spec) string {
	// The names are plain (Validate), so they may stand inside literals.
	owner, schema := Literal(r.Migrate), Literal(r.Schema)
	return `DO $$
DECLARE q text;
BEGIN
  FOR q IN
    SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, ` + owner + `) FROM pg_class c
     WHERE c.relnamespace = ` + schema + `::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, ` + owner + `) FROM pg_proc p
     WHERE p.pronamespace = ` + schema + `::regnamespace
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, ` + owner + `) FROM pg_type t
     WHERE t.typnamespace = ` + schema + `::regnamespace AND t.typtype IN ('e', 'd', 'r')
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE q;
  END LOOP;
END $$`
}
