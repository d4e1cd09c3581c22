package notes

import (
	"embed"

	"github.com/kura-dev/kura/sqldb"
)

// migrationsFS holds the app's own migrations, one directory per engine.
//
//go:embed migrations
var migrationsFS embed.FS

// Schema is the app's own set of migrations: its tables reference kura's
// users, so it is applied after kura's sets:
//
//	db.MigrateUp(ctx, store.Schema, jobs.Schema, notes.Schema)
//
// Its history is the table notes_schema_migrations, apart from kura's, so
// the app's version 1 and kura's version 1 never meet.
var Schema = &sqldb.Migrations{Name: "notes", FS: sqldb.SubFS(migrationsFS, "migrations")}
