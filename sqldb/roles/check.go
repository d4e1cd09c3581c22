package roles

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// Findings reads what the role db is connected as may do that an
// application role must not: on PostgreSQL be a superuser, own the schema
// or its tables, create objects in the schema or schemas in the database;
// on MySQL/MariaDB hold a privilege that changes the schema or the server.
// It returns the role's name and the findings, none for a least-privilege
// role. It reads the catalog and changes nothing. Not for SQLite.
func Findings(ctx context.Context, db *sqldb.DB) (role string, findings []string, err error) {
	if db.Dialect() == sqldb.Postgres {
		return postgresFindings(ctx, db)
	}
	return mysqlFindings(ctx, db)
}

func postgresFindings(ctx context.Context, db *sqldb.DB) (string, []string, error) {
	var user string
	var super, ownsSchema, create, createDB bool
	var tables int
	err := db.Reader().QueryRowContext(ctx, `
SELECT current_user, r.rolsuper,
       n.nspowner = r.oid,
       (SELECT count(*) FROM pg_tables t WHERE t.schemaname = n.nspname AND t.tableowner = current_user),
       has_schema_privilege(n.oid, 'CREATE'),
       has_database_privilege(current_database(), 'CREATE')
  FROM pg_roles r, pg_namespace n
 WHERE r.rolname = current_user AND n.nspname = coalesce(current_schema(), 'public')`).
		Scan(&user, &super, &ownsSchema, &tables, &create, &createDB)
	if err != nil {
		return "", nil, err
	}
	var f []string
	if super {
		f = append(f, "is a superuser")
	}
	if ownsSchema {
		f = append(f, "owns the schema")
	}
	if tables > 0 {
		f = append(f, fmt.Sprintf("owns %d of its tables", tables))
	}
	if create && !ownsSchema && !super {
		f = append(f, "may create objects in the schema")
	}
	if createDB && !super {
		f = append(f, "may create schemas in the database")
	}
	return user, f, nil
}

// DDLPrivileges are MySQL privileges that change the schema or the
// server, which the application role must not hold.
var DDLPrivileges = []string{"ALL", "ALL PRIVILEGES", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES", "CREATE VIEW",
	"CREATE ROUTINE", "ALTER ROUTINE", "TRIGGER", "EVENT", "SUPER", "CREATE USER", "FILE", "RELOAD", "SHUTDOWN", "GRANT OPTION"}

func mysqlFindings(ctx context.Context, db *sqldb.DB) (string, []string, error) {
	var user string
	if err := db.Reader().QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&user); err != nil {
		return "", nil, err
	}
	grants, err := showGrants(ctx, db)
	if err != nil {
		return "", nil, err
	}
	var held []string
	for _, g := range grants {
		// GRANT priv, priv ON obj TO user [IDENTIFIED BY PASSWORD …] [WITH GRANT OPTION]:
		// only the privileges are read (the rest may hold a password hash).
		privs, _, found := strings.Cut(strings.TrimPrefix(g, "GRANT "), " ON ")
		if !found {
			continue
		}
		for _, p := range strings.Split(privs, ", ") {
			if slices.Contains(DDLPrivileges, strings.TrimSpace(p)) && !slices.Contains(held, p) {
				held = append(held, p)
			}
		}
		if strings.HasSuffix(g, "WITH GRANT OPTION") && !slices.Contains(held, "GRANT OPTION") {
			held = append(held, "GRANT OPTION")
		}
	}
	if len(held) == 0 {
		return user, nil, nil
	}
	return user, []string{"holds " + strings.Join(held, ", ")}, nil
}

// showGrants returns the lines of MySQL's SHOW GRANTS for the current user.
func showGrants(ctx context.Context, db *sqldb.DB) ([]string, error) {
	rows, err := db.Reader().QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var grants []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		grants = append(grants, g)
	}
	return grants, rows.Err()
}
