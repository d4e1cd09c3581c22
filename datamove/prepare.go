package datamove

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// prepare checks both databases, migrates the target, records the move
// on it and lists the tables to copy, parents first.
func (m *mover) prepare(ctx context.Context) error {
	from, to := m.fromDB, m.to.db
	if err := checkSchema(ctx, from, m.opts.Sets, "source"); err != nil {
		return err
	}
	id, err := from.Identity(ctx)
	if err != nil {
		return fmt.Errorf("the source: %w", err)
	}
	m.sourceID, m.rep.SourceID = id, id
	if tid, err := to.Identity(ctx); err == nil && tid == id && from.Dialect() == to.Dialect() {
		return fmt.Errorf("the source and the target are the same database (identity %s): give another --to", id)
	}
	if err := checkNewer(ctx, to, m.opts.Sets, "target"); err != nil {
		return err
	}
	if err := m.claimTarget(ctx); err != nil {
		return err
	}
	if err := to.MigrateUp(ctx, m.opts.Sets...); err != nil {
		return fmt.Errorf("migrate the target: %w", m.targetErr(err))
	}
	if m.rep.TargetID, err = to.Identity(ctx); err != nil {
		return fmt.Errorf("the target: %w", err)
	}
	if err := m.recordSource(ctx); err != nil {
		return err
	}
	return m.listTables(ctx)
}

// checkSchema refuses a source that is not migrated, or not to the
// versions this binary knows.
func checkSchema(ctx context.Context, db *sqldb.DB, sets []*sqldb.Migrations, side string) error {
	list, err := db.MigrationStatus(ctx, sets...)
	if err != nil {
		return fmt.Errorf("read the %s's migrations: %w", side, err)
	}
	applied, known := map[string]int64{}, map[string]int64{}
	for _, s := range list {
		known[s.Set] = max(known[s.Set], s.Version)
		if s.Applied {
			applied[s.Set] = max(applied[s.Set], s.Version)
		}
	}
	if len(applied) == 0 {
		return fmt.Errorf("the %s is not migrated: it has none of kura's tables (is it the right database? kura migrate up makes them)", side)
	}
	for _, set := range sets {
		if applied[set.Name] < known[set.Name] {
			return fmt.Errorf("the %s's schema is older than this kura's: set %s is at version %d of %d; run kura migrate up on it first (while it serves, with this kura)",
				side, set.Name, applied[set.Name], known[set.Name])
		}
	}
	return checkNewer(ctx, db, sets, side)
}

// checkNewer refuses a database migrated past the versions this binary
// knows: its tables may have columns this kura would not copy.
func checkNewer(ctx context.Context, db *sqldb.DB, sets []*sqldb.Migrations, side string) error {
	list, err := db.MigrationStatus(ctx, sets...)
	if err != nil {
		return fmt.Errorf("read the %s's migrations: %w", side, err)
	}
	known := map[string]int64{}
	for _, s := range list {
		known[s.Set] = max(known[s.Set], s.Version)
	}
	tables, err := listTables(ctx, db.Reader(), db.Dialect())
	if err != nil {
		return fmt.Errorf("list the %s's tables: %w", side, err)
	}
	have := map[string]bool{}
	for _, t := range tables {
		have[t] = true
	}
	for _, set := range sets {
		if !have[set.HistoryTable()] {
			continue
		}
		var v int64
		q := "SELECT COALESCE(MAX(version_id), 0) FROM " + quote(db.Dialect(), set.HistoryTable())
		if err := db.Reader().QueryRowContext(ctx, q).Scan(&v); err != nil {
			return fmt.Errorf("read the %s's migrations of %s: %w", side, set.Name, err)
		}
		if v > known[set.Name] {
			return fmt.Errorf("the %s's schema is newer than this kura's: set %s is at version %d, this kura knows up to %d; use the kura that serves it",
				side, set.Name, v, known[set.Name])
		}
	}
	return nil
}

// claimTarget refuses a target that holds tables not from an earlier move
// of the same source, unless Force, and reads the checkpoints of an
// earlier run.
func (m *mover) claimTarget(ctx context.Context) error {
	to := m.to.db
	tables, err := listTables(ctx, to.Writer(), to.Dialect())
	if err != nil {
		return fmt.Errorf("list the target's tables: %w", m.targetErr(err))
	}
	if len(tables) == 0 {
		return nil
	}
	hasCheckpoints := false
	for _, t := range tables {
		hasCheckpoints = hasCheckpoints || t == checkpointTable
	}
	if hasCheckpoints {
		cps, src, cutOver, err := readCheckpoints(ctx, to.Writer())
		if err != nil {
			return fmt.Errorf("read the target's checkpoints: %w", m.targetErr(err))
		}
		switch {
		case src == m.sourceID && cutOver != "" && !m.opts.Force:
			return fmt.Errorf("the target was cut over from this source at %s and may have taken writes since: a move would undo them (--force to copy again anyway)", cutOver)
		case src == m.sourceID && cutOver == "":
			m.checkpoints, m.rep.Resumed = cps, true
			return nil
		case !m.opts.Force:
			return fmt.Errorf("the target holds a move of another database (identity %s): give --force to replace its rows", src)
		}
		return m.clearTarget(ctx)
	}
	if !m.opts.Force {
		return fmt.Errorf("the target already holds tables (%s) that are not from a move of this source: give --force to replace the rows of the moved tables, or another --to",
			strings.Join(tables[:min(len(tables), 5)], ", "))
	}
	return m.clearTarget(ctx)
}

// clearTarget deletes the rows of the moved tables and the checkpoints,
// once the target is migrated (for --force).
func (m *mover) clearTarget(ctx context.Context) error {
	m.opts.Force = false
	if err := m.to.db.MigrateUp(ctx, m.opts.Sets...); err != nil {
		return fmt.Errorf("migrate the target: %w", m.targetErr(err))
	}
	if err := m.listTables(ctx); err != nil && !errors.As(err, new(*UnknownTablesError)) {
		return err
	}
	w := m.to.db.Writer()
	for i := len(m.tables) - 1; i >= 0; i-- {
		tb := m.tables[i]
		if _, err := w.ExecContext(ctx, "DELETE FROM "+quote(m.to.d, tb.dst)); err != nil {
			return fmt.Errorf("empty the target's %s: %w", tb.dst, m.targetErr(err))
		}
	}
	_, err := w.ExecContext(ctx, "DROP TABLE IF EXISTS "+checkpointTable)
	m.tables = nil
	return m.targetErr(err)
}

// recordSource creates the checkpoint table and records the source.
func (m *mover) recordSource(ctx context.Context) error {
	if _, err := m.to.db.Writer().ExecContext(ctx, checkpointDDL); err != nil {
		return fmt.Errorf("create %s on the target: %w", checkpointTable, m.targetErr(err))
	}
	if m.rep.Resumed {
		return nil
	}
	return m.to.inTx(ctx, func(tx ttx) error {
		return saveCheckpoint(ctx, tx, m.sourceID, "", checkpoint{})
	})
}

// UnknownTablesError names tables of the source that no migration set of
// the move makes.
type UnknownTablesError struct{ Tables []string }

func (e *UnknownTablesError) Error() string {
	return fmt.Sprintf("the source holds tables that no registered migration set makes, which a move would leave behind: %s (register the set that makes them, or drop them from the source)",
		strings.Join(e.Tables, ", "))
}

// listTables finds the tables to copy: the target's, once migrated, but
// those not moved; and refuses a source with tables no set makes.
func (m *mover) listTables(ctx context.Context) error {
	sd, dd := m.fromDB.Dialect(), m.to.d
	dst, err := listTables(ctx, m.to.db.Writer(), dd)
	if err != nil {
		return fmt.Errorf("list the target's tables: %w", m.targetErr(err))
	}
	src, err := listTables(ctx, m.fromDB.Reader(), sd)
	if err != nil {
		return fmt.Errorf("list the source's tables: %w", err)
	}
	history := map[string]bool{}
	for _, s := range m.opts.Sets {
		history[s.HistoryTable()] = true
	}
	inSource := map[string]bool{}
	for _, t := range src {
		inSource[t] = true
	}
	var moved []string
	known := map[string]bool{}
	for _, t := range dst {
		known[t] = true
		if notMoved[t] != "" || history[t] || jobTables[t] {
			continue
		}
		if !inSource[t] {
			return fmt.Errorf("the source has no table %s, which the target's migrations make: are both at the same schema version?", t)
		}
		moved = append(moved, t)
	}
	unknown := map[string]bool{}
	m.rep.NotMoved = nil
	for _, t := range src {
		switch {
		case notMoved[t] != "":
			m.rep.NotMoved = append(m.rep.NotMoved, Skipped{t, notMoved[t]})
		case history[t]:
			m.rep.NotMoved = append(m.rep.NotMoved, Skipped{t, "the set's migration history: the target's own"})
		case jobTables[t] || known[t]:
		default:
			unknown[t] = true
		}
	}
	refs, err := foreignKeys(ctx, m.to.db.Writer(), dd, moved)
	if err != nil {
		return m.targetErr(err)
	}
	m.tables = nil
	for _, name := range parentsFirst(moved, refs) {
		tb, err := describe(ctx, m.fromDB.Reader(), m.to.db.Writer(), sd, dd, name)
		if err != nil {
			return err
		}
		for _, r := range refs[name] {
			if r == name {
				tb.selfRef = true
			} else {
				tb.parents = append(tb.parents, r)
			}
		}
		m.tables = append(m.tables, tb)
	}
	if err := m.addJobs(ctx, inSource, known); err != nil {
		return err
	}
	if len(unknown) > 0 {
		return &UnknownTablesError{Tables: sortedKeys(unknown)}
	}
	return nil
}

// addJobs adds the job queue's waiting jobs when both sides have a queue,
// and counts the finished jobs that stay behind.
func (m *mover) addJobs(ctx context.Context, inSource, inTarget map[string]bool) error {
	tb := jobsTable(m.fromDB.Dialect(), m.to.d)
	if !inSource[tb.src] || !inTarget[tb.dst] {
		return nil
	}
	m.tables = append(m.tables, tb)
	q := "SELECT COUNT(*) FROM " + quote(m.fromDB.Dialect(), tb.src) + " WHERE NOT (" + tb.srcWhere + ")"
	if err := m.fromDB.Reader().QueryRowContext(ctx, q).Scan(&m.rep.FinishedJobs); err != nil {
		return fmt.Errorf("count the source's finished jobs: %w", err)
	}
	m.rep.NotMoved = append(m.rep.NotMoved, Skipped{tb.src + " (finished jobs)",
		fmt.Sprintf("%d finished jobs (completed, cancelled, discarded) are the source's history; waiting jobs move", m.rep.FinishedJobs)})
	return nil
}
