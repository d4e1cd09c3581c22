// Package app composes kura's packages into a running process, as kura
// serve and kura worker run: one place turns the configuration into the
// database, the jobs, the caches, the rate limits, the metrics, the HTTP
// server and the ordered shutdown, for kura's binary and for any app built
// on kura alike.
//
// The configuration is the environment table (Variables: DATABASE_URL,
// DB_POOL_SIZE, KURA_RATE_LIMIT, KURA_METRICS_ADDR and every other
// variable of kura's README), read with FromEnv or Load and validated
// once. An app adds its own parts in Options and runs:
//
//	cfg, err := app.FromEnv() // the environment, then ./.env
//	if err != nil {
//		return err
//	}
//	return app.Run(ctx, cfg, app.Options{
//		Name:   "notes",
//		Sets:   []*sqldb.Migrations{notes.Schema}, // after kura's own
//		Jobs:   func(a *app.App, ws *jobs.Workers) []jobs.PeriodicJob { ... },
//		Routes: func(a *app.App, srv *httpapi.Server) error { ... },
//	})
//
// Run binds KURA_ADDR, waits for the database (KURA_DB_CONNECT_TIMEOUT),
// migrates, serves kura's users API and the app's routes, works kura's
// jobs and the app's, takes scheduled backups of the whole database,
// records the instance, follows kura db read-only, and on SIGTERM drains
// (KURA_DRAIN_DELAY) and stops within KURA_SHUTDOWN_TIMEOUT.
// docs/BUILDING.md builds an app on it from an empty folder.
package app
