package mail

import (
	"embed"

	"github.com/kura-dev/kura/sqldb"
)

//go:embed migrations
var migrationsFS embed.FS

// Schema is the mail outbox's schema (the table kura_mail), a set of
// migrations of its own applied after jobs.Schema:
// db.MigrateUp(ctx, store.Schema, jobs.Schema, mail.Schema, ...). Its
// history is the table mail_schema_migrations.
var Schema = &sqldb.Migrations{
	Name: "mail",
	FS:   sqldb.SubFS(migrationsFS, "migrations"),
}
