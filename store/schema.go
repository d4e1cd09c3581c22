package store

import (
	"embed"

	"github.com/kura-dev/kura/sqldb"
)

// schemaFS holds kura's own schema per engine.
//
//go:embed migrations
var schemaFS embed.FS

// Schema is kura's own schema: the tables of this package's stores (users,
// sessions, notifications, idempotency keys, cache invalidations) and the
// operational tables that sqldb and backup read by name (kura_instances,
// backup_runs, kura_database, kura_read_only). Its name is "kura" and its
// history goose's default table, goose_db_version, as when it was
// sqldb.Schema: a database made before upgrades unchanged.
//
// Its version 3 made the job queue's tables before they became a set of
// their own (jobs.Schema); it stays as a step that does nothing, so that a
// database made before keeps a history goose can walk both ways.
var Schema = &sqldb.Migrations{Name: "kura", Table: "goose_db_version", FS: sqldb.SubFS(schemaFS, "migrations"),
	Go: func(sqldb.Dialect) []sqldb.GoMigration {
		return []sqldb.GoMigration{{Version: 3, Name: "00003_jobs_moved.go"}}
	}}
