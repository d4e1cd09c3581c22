// Package datamove moves an application's data between the engines kura
// supports (SQLite, PostgreSQL, MySQL/MariaDB), in any direction, in one
// verified and resumable step:
//
//	rep, err := datamove.Move(ctx, from, to, datamove.Options{
//		Sets: []*sqldb.Migrations{store.Schema, jobs.Schema, notes.Schema},
//	})
//
// The target gets its schema from the migration sets, never from the
// source's DDL. Every table the sets make is copied in primary-key order,
// a chunk per transaction on the target that also records the chunk's last
// key in the target's kura_data_move table: a run killed at any moment
// and run again continues after the last chunk committed and never writes
// a row twice. PostgreSQL is written with COPY; memory holds a few chunks
// whatever the size.
//
// The source is only read, in one snapshot (a read-only transaction) per
// pass, so that references between tables hold. After the copy, each
// table's rows are summed per key range on both sides (a sha256 per row
// over one canonical encoding: values read into one form per column type,
// times in UTC at the coarser precision of the two engines, JSON with
// sorted keys, then encoded as package backup's checksums encode values);
// ranges that differ (rows the source wrote during the copy) are rewritten
// on the target and summed again. A table that still differs is a
// *MismatchError naming its first differing range.
//
// With Options.Freeze, the move is a cut-over: after the copy and a
// catch-up while the source serves, the source's instances are put into
// read-only mode, the last changes are copied and verified, and the
// target is marked as cut over (a later run refuses to overwrite it).
//
// Tables that describe the source's processes or its own history are not
// moved (the report lists them): kura_database (the target keeps its own
// identity), kura_instances, kura_job_clients, cache_invalidations,
// backup_runs, River's bookkeeping tables and each set's migration
// history. The job queue's waiting jobs (available, scheduled, retryable,
// pending) move between River's river_job and the jobs package's
// kura_jobs with their ids, kinds, arguments, attempts and times; finished
// jobs stay behind as the source's history, counted in the report.
package datamove
