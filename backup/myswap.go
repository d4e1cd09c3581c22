package backup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/kura-dev/kura/sqldb"
)

// A MySQL restore loads the dump into a scratch database on the target's
// server, kura_restore_<random> (the "new" one), compares it with the
// manifest there, and then swaps every table at once with one RENAME
// TABLE, which MariaDB and MySQL apply atomically: the target's tables go
// to kura_restore_<random>_old, the new ones into the target, and both
// scratch databases are dropped after. Triggers cannot move between
// databases, so the target's are dropped just before the swap and the
// backup's made just after, from statements kept in a table of the new
// database (restoreState): a restore killed in between is finished (after
// the swap) or undone (before it) by the next backup command on that
// server (sweepServer), which knows a dead restore by its free lock
// (GET_LOCK on the new database's name, held by the restoring session).
// Views are remade after the swap likewise.

const (
	restorePrefix = "kura_restore_"
	oldSuffix     = "_old"
	// restoreState holds the statements of a restore's steps around the
	// swap; the swap renames it to swappedState.
	restoreState = "kura_restore_pending"
	swappedState = "kura_restore_swapped"
)

// myRestoreGrant is what the account of a MySQL restore needs beside its
// own database.
const myRestoreGrant = "GRANT ALL PRIVILEGES ON `kura\\_restore\\_%`.* TO the account the restore logs in as"

// replace restores the backup over the database at to: see above.
func (e *mysqlEngine) replace(ctx context.Context, m *Manifest, to string, pr *progress) error {
	mc, err := sqldb.MySQLConfig(to)
	if err != nil {
		return unchanged(err)
	}
	target := mc.DBName
	if target == "" {
		return unchanged(errors.New("the target URL names no database"))
	}
	db, err := openServer(ctx, e.cfg, to)
	if err != nil {
		return unchanged(err)
	}
	defer db.Close()
	conn, err := db.Writer().Conn(ctx)
	if err != nil {
		return unchanged(err)
	}
	defer conn.Close()
	sweepServer(ctx, conn, e.cfg)

	name := restorePrefix + randomHex(6)
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil || got != 1 {
		return unchanged(fmt.Errorf("take the restore's lock %s: %v", name, err))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", name)
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+myIdent(name)+" CHARACTER SET utf8mb4"); err != nil {
		return unchanged(privilegeHint(fmt.Errorf("create the scratch database %s to load the backup into: %w", name, err)))
	}
	swapped := false
	defer func() {
		if !swapped {
			dropRestore(context.WithoutCancel(ctx), conn, name)
		}
	}()
	newURL, err := withDatabase(to, name)
	if err != nil {
		return unchanged(err)
	}
	if err := e.load(ctx, m.Path(), newURL, pr); err != nil {
		return unchanged(fmt.Errorf("load the backup into %s: %w", name, err))
	}
	loaded, err := e.read(ctx, newURL, pr)
	if err != nil {
		return unchanged(err)
	}
	if err := checkLoaded(m, loaded); err != nil {
		return unchanged(err)
	}
	if contains(tableNamesOf(loaded), sqldb.InstancesTable) {
		if _, err := conn.ExecContext(ctx, "DELETE FROM "+myIdent(name)+"."+myIdent(sqldb.InstancesTable)); err != nil {
			return unchanged(fmt.Errorf("clear kura_instances of the loaded copy: %w", err))
		}
	}
	swapped, err = swap(ctx, conn, target, name)
	if !swapped {
		return unchanged(err)
	}
	if err != nil {
		return fmt.Errorf("the backup's tables replaced the target's, but %w; the next backup command on this server tries again", err)
	}
	if err := dropRestore(ctx, conn, name); err != nil {
		e.cfg.Logger.Warn("backup: the restore is done, but its scratch databases stay; the next backup command drops them", "err", err)
	}
	return nil
}

// swap moves the target's tables out and the new database's in, in one
// RENAME TABLE, with the triggers and views around it. It says whether
// the swap happened; an error after it is a trigger or view that could
// not be made.
func swap(ctx context.Context, conn *sql.Conn, target, name string) (bool, error) {
	oldTables, err := baseTables(ctx, conn, target)
	if err != nil {
		return false, err
	}
	newTables, err := baseTables(ctx, conn, name)
	if err != nil {
		return false, err
	}
	undo, oldTriggers, err := triggerStatements(ctx, conn, target)
	if err != nil {
		return false, err
	}
	redo, newTriggers, err := triggerStatements(ctx, conn, name)
	if err != nil {
		return false, err
	}
	views, err := viewStatements(ctx, conn, target, name)
	if err != nil {
		return false, err
	}
	redo = append(views, redo...)
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+myIdent(name+oldSuffix)+" CHARACTER SET utf8mb4"); err != nil {
		return false, privilegeHint(err)
	}
	if err := saveState(ctx, conn, name, target, undo, redo); err != nil {
		return false, err
	}
	// From here to the swap the target lacks its triggers: undo puts
	// them back, here or at the next sweep if this process dies.
	for _, t := range oldTriggers {
		if _, err := conn.ExecContext(ctx, "DROP TRIGGER "+myIdent(target)+"."+myIdent(t)); err != nil {
			return false, errors.Join(fmt.Errorf("drop trigger %s before the swap: %w", t, err), replay(ctx, conn, name, restoreState, "undo"))
		}
	}
	for _, t := range newTriggers {
		if _, err := conn.ExecContext(ctx, "DROP TRIGGER "+myIdent(name)+"."+myIdent(t)); err != nil {
			return false, errors.Join(fmt.Errorf("drop trigger %s of the loaded copy: %w", t, err), replay(ctx, conn, name, restoreState, "undo"))
		}
	}
	var renames []string
	for _, t := range oldTables {
		renames = append(renames, myIdent(target)+"."+myIdent(t)+" TO "+myIdent(name+oldSuffix)+"."+myIdent(t))
	}
	for _, t := range newTables {
		renames = append(renames, myIdent(name)+"."+myIdent(t)+" TO "+myIdent(target)+"."+myIdent(t))
	}
	renames = append(renames, myIdent(name)+"."+restoreState+" TO "+myIdent(name)+"."+swappedState)
	if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(renames, ", ")); err != nil {
		return false, errors.Join(privilegeHint(fmt.Errorf("swap the tables: %w", err)), replay(ctx, conn, name, restoreState, "undo"))
	}
	return true, replay(ctx, conn, name, swappedState, "redo")
}

// baseTables lists the base tables of database db.
func baseTables(ctx context.Context, q querier, db string) ([]string, error) {
	names, err := strings1(ctx, q, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name`, db)
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", db, err)
	}
	return names, nil
}

// triggerStatements returns the statements that make the triggers of db
// again in the target (each preceded by its DROP TRIGGER IF EXISTS, so
// that they may run twice), and the triggers' names.
func triggerStatements(ctx context.Context, conn *sql.Conn, db string) (stmts []stateRow, names []string, err error) {
	names, err = strings1(ctx, conn, `SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = ? ORDER BY trigger_name`, db)
	if err != nil {
		return nil, nil, fmt.Errorf("list the triggers of %s: %w", db, err)
	}
	for _, t := range names {
		var name, mode, create, cs, coll, dbColl string
		var created sql.NullString
		if err := conn.QueryRowContext(ctx, "SHOW CREATE TRIGGER "+myIdent(db)+"."+myIdent(t)).Scan(&name, &mode, &create, &cs, &coll, &dbColl, &created); err != nil {
			return nil, nil, fmt.Errorf("read trigger %s: %w", t, err)
		}
		stmts = append(stmts, stateRow{sqlMode: mode, stmt: "DROP TRIGGER IF EXISTS " + myIdent(t)}, stateRow{sqlMode: mode, stmt: create})
	}
	return stmts, names, nil
}

// viewStatements returns the statements that, after the swap, drop the
// target's views and make the new database's in the target.
func viewStatements(ctx context.Context, conn *sql.Conn, target, name string) ([]stateRow, error) {
	q := `SELECT table_name FROM information_schema.views WHERE table_schema = ? ORDER BY table_name`
	old, err := strings1(ctx, conn, q, target)
	if err != nil {
		return nil, fmt.Errorf("list the views of %s: %w", target, err)
	}
	views, err := strings1(ctx, conn, q, name)
	if err != nil {
		return nil, fmt.Errorf("list the views of %s: %w", name, err)
	}
	var out []stateRow
	for _, v := range old {
		out = append(out, stateRow{stmt: "DROP VIEW IF EXISTS " + myIdent(v)})
	}
	if len(views) == 0 {
		return out, nil
	}
	// SHOW CREATE VIEW leaves the current database's name out: in the
	// new database, its statements make the same views in the target.
	if _, err := conn.ExecContext(ctx, "USE "+myIdent(name)); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "USE "+myIdent(target))
	for _, v := range views {
		var view, create, cs, coll string
		if err := conn.QueryRowContext(ctx, "SHOW CREATE VIEW "+myIdent(v)).Scan(&view, &create, &cs, &coll); err != nil {
			return nil, fmt.Errorf("read view %s: %w", v, err)
		}
		out = append(out, stateRow{stmt: "DROP VIEW IF EXISTS " + myIdent(v)}, stateRow{stmt: create, view: true})
	}
	return out, nil
}

// stateRow is one statement of a restore's undo or redo.
type stateRow struct {
	sqlMode string // the sql_mode it runs in ("" for the session's)
	stmt    string
	view    bool // it makes a view, which may need another made first
}

// saveState writes the undo and redo statements into the new database's
// state table, with the target's name, before anything is dropped.
func saveState(ctx context.Context, conn *sql.Conn, name, target string, undo, redo []stateRow) error {
	table := myIdent(name) + "." + restoreState
	if _, err := conn.ExecContext(ctx, "CREATE TABLE "+table+` (
		seq INT NOT NULL PRIMARY KEY, phase VARCHAR(8) NOT NULL, target VARCHAR(64) NOT NULL,
		sql_mode TEXT NOT NULL, is_view BOOLEAN NOT NULL, stmt LONGTEXT NOT NULL) ENGINE = InnoDB`); err != nil {
		return privilegeHint(fmt.Errorf("record the restore's steps: %w", err))
	}
	type step struct {
		phase string
		row   stateRow
	}
	// A first row with no statement names the target even when there is
	// nothing to undo or redo.
	steps := []step{{phase: "target"}}
	for _, r := range undo {
		steps = append(steps, step{"undo", r})
	}
	for _, r := range redo {
		steps = append(steps, step{"redo", r})
	}
	// One statement: the steps are recorded whole or not at all.
	var values []string
	var args []any
	for i, st := range steps {
		values = append(values, "(?, ?, ?, ?, ?, ?)")
		args = append(args, i+1, st.phase, target, st.row.sqlMode, st.row.view, st.row.stmt)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" VALUES "+strings.Join(values, ", "), args...); err != nil {
		return fmt.Errorf("record the restore's steps: %w", err)
	}
	return nil
}

// replay runs the statements of phase ("undo" or "redo") kept in the
// state table of the restore database name, in the target it names. A
// view that needs another view not made yet is tried again after the
// others.
func replay(ctx context.Context, conn *sql.Conn, name, state, phase string) error {
	ctx = context.WithoutCancel(ctx) // half an undo is worse than a late one
	var target string
	err := conn.QueryRowContext(ctx, "SELECT target FROM "+myIdent(name)+"."+state+" WHERE phase = 'target'").Scan(&target)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // killed before its steps were recorded, so before it changed anything
	}
	if err != nil {
		return fmt.Errorf("read the restore's steps: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT sql_mode, is_view, stmt FROM "+myIdent(name)+"."+state+" WHERE phase = ? ORDER BY seq", phase)
	if err != nil {
		return fmt.Errorf("read the restore's steps: %w", err)
	}
	var todo []stateRow
	for rows.Next() {
		var r stateRow
		if err := rows.Scan(&r.sqlMode, &r.view, &r.stmt); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "USE "+myIdent(target)); err != nil {
		return err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, "SET SESSION sql_mode = ?", mode)
	for pass := 0; len(todo) > 0; pass++ {
		var again []stateRow
		var last error
		for _, r := range todo {
			if err := execIn(ctx, conn, r, mode); err != nil {
				if r.view && pass < 10 {
					again, last = append(again, r), err
					continue
				}
				return fmt.Errorf("%s the triggers and views: %w", map[string]string{"undo": "put back", "redo": "make"}[phase], err)
			}
		}
		if len(again) == len(todo) {
			return fmt.Errorf("make the views: %w", last)
		}
		todo = again
	}
	return nil
}

func execIn(ctx context.Context, conn *sql.Conn, r stateRow, mode string) error {
	if r.sqlMode != "" {
		mode = r.sqlMode
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = ?", mode); err != nil {
		return err
	}
	if r.stmt == "" {
		return nil
	}
	_, err := conn.ExecContext(ctx, r.stmt)
	return err
}

// dropRestore drops a restore's two scratch databases.
func dropRestore(ctx context.Context, conn *sql.Conn, name string) error {
	var errs []error
	for _, db := range []string{name + oldSuffix, name} {
		if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+myIdent(db)); err != nil {
			errs = append(errs, fmt.Errorf("drop %s: %w", db, err))
		}
	}
	return errors.Join(errs...)
}

// sweepServer finishes or undoes, then drops, what restores killed on
// the server conn is connected to left (their lock is free), and logs
// what it did. It is quiet when the account cannot see such databases.
func sweepServer(ctx context.Context, conn *sql.Conn, cfg Config) {
	dbs, err := strings1(ctx, conn, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'kura\\_restore\\_%'")
	if err != nil {
		cfg.Logger.Warn("backup: could not look for what killed restores left", "err", err)
		return
	}
	for _, db := range dbs {
		if strings.HasSuffix(db, oldSuffix) && contains(dbs, strings.TrimSuffix(db, oldSuffix)) {
			continue // goes with its new database
		}
		name := strings.TrimSuffix(db, oldSuffix)
		var free sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT IS_FREE_LOCK(?)", name).Scan(&free); err != nil || free.Int64 != 1 {
			continue // a restore that runs
		}
		done, err := finishRestore(ctx, conn, name)
		if err != nil {
			cfg.Logger.Error("backup: a killed restore's leftovers could not be cleared: "+done, "database", name, "err", err)
			continue
		}
		cfg.Logger.Warn("backup: cleared what a killed restore left: "+done, "database", name)
	}
}

// finishRestore completes the steps of a dead restore (redo when it had
// swapped, undo when not) and drops its databases; it says which it did.
func finishRestore(ctx context.Context, conn *sql.Conn, name string) (string, error) {
	tables, err := baseTables(ctx, conn, name)
	if err != nil {
		return "", err
	}
	done := "it had not swapped: the target was as it was"
	if gone, target, err := targetGone(ctx, conn, name, tables); err != nil {
		return "", err
	} else if gone {
		// Nothing is left to redo or undo: the database the restore was
		// for has been dropped since, and with it what the scratch
		// databases were kept for.
		return "its target " + target + " no longer exists: dropped what it left", dropRestore(ctx, conn, name)
	}
	switch {
	case contains(tables, swappedState):
		done = "it had swapped: the target holds the backup"
		if err := replay(ctx, conn, name, swappedState, "redo"); err != nil {
			return done, err
		}
	case contains(tables, restoreState):
		done = "it had not swapped: the target's triggers were put back"
		if err := replay(ctx, conn, name, restoreState, "undo"); err != nil {
			return done, err
		}
	}
	return done, dropRestore(ctx, conn, name)
}

// targetGone reports whether the target database a dead restore recorded
// in its state table no longer exists on the server.
func targetGone(ctx context.Context, conn *sql.Conn, name string, tables []string) (bool, string, error) {
	state := swappedState
	if !contains(tables, state) {
		state = restoreState
	}
	if !contains(tables, state) {
		return false, "", nil
	}
	var target string
	err := conn.QueryRowContext(ctx, "SELECT target FROM "+myIdent(name)+"."+state+" WHERE phase = 'target'").Scan(&target)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("read the restore's target: %w", err)
	}
	var n int
	err = conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", target).Scan(&n)
	if err != nil {
		return false, "", fmt.Errorf("look for the restore's target: %w", err)
	}
	return n == 0, target, nil
}

// privilegeHint adds what to grant to an error of missing privileges.
func privilegeHint(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1044 || me.Number == 1142 || me.Number == 1227) {
		return fmt.Errorf("%w: a restore loads the backup into a scratch database kura_restore_… on the target's server, then swaps the tables in; its account needs every privilege there (%s)", err, myRestoreGrant)
	}
	return err
}

func myIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sweepMySQL sweeps the server of rawURL of what killed restores left.
func sweepMySQL(ctx context.Context, cfg Config, rawURL string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, err := openServer(ctx, cfg, rawURL)
	if err != nil {
		return
	}
	defer db.Close()
	conn, err := db.Writer().Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	sweepServer(ctx, conn, cfg)
}
