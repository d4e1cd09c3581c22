// Package maintain keeps a database in shape while it serves, on any of
// sqldb's engines, for kura's tables and an application's alike: the
// tables are read from the database's schema, never listed here.
//
//	r, err := maintain.Run(ctx, db, maintain.Options{
//		Statements: append(store.Statements(db.Dialect()), jobs.Statements(db.Dialect())...),
//		Budget:     &maintain.BudgetInput{Instances: 3, PoolSize: 5, MaxOverflow: 10, WorkerConns: jobs.WorkerConns(db.Dialect())},
//	})
//	r.WriteText(os.Stdout) // or r.WriteJSON
//
// What Run does, per engine, each step only as far as is safe under load:
//
//   - SQLite: PRAGMA quick_check (on a reader; damage found is an error and
//     the steps that write are skipped), PRAGMA optimize, VACUUM when the
//     free pages pass VacuumFreeRatio and VacuumMinFree, and
//     wal_checkpoint(TRUNCATE), which answers busy while readers hold an
//     old snapshot (reported, not a failure). The writing steps run on the
//     writer connection sqldb holds, so the app's writers wait for them in
//     Go, up to DB_POOL_TIMEOUT, rather than failing on a lock.
//   - PostgreSQL: VACUUM (ANALYZE), never FULL, of each table whose dead
//     rows pass DeadRatio and DeadMin, outside any transaction, with a
//     bloat estimate per table (its size times its dead ratio). VACUUM
//     needs the table's owner: run as the migration role.
//   - MariaDB/MySQL: ANALYZE TABLE of every table, and OPTIMIZE TABLE (an
//     online rebuild on InnoDB) of those whose free space passes
//     FragmentRatio and FragmentMin.
//
// Then two reports: UnusedIndexes (indexes neither unique nor a primary
// key that nothing used, with how long "unused" covers) and, with
// Options.Budget, ConnectionBudget (the most connections the deployment
// may open against the server's limit, with a verdict). Each is also a
// function of its own.
package maintain
