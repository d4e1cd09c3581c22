package backup

import (
	"context"
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// TestSweepServer_FinishesKilledRestores: a MySQL restore killed after it
// dropped the target's triggers but before its swap is undone (the
// triggers come back), one killed after its swap is finished (the
// backup's triggers are made); both leave no scratch database.
func TestSweepServer_FinishesKilledRestores(t *testing.T) {
	ctx := context.Background()
	url := testenv.MySQLDatabase(t)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Writer().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mc, _ := sqldb.MySQLConfig(url)
	target := mc.DBName
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	triggers := func() []string {
		t.Helper()
		names, err := strings1(ctx, conn, "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = ?", target)
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	exec("CREATE TABLE t (id INT PRIMARY KEY, s TEXT)")
	exec("CREATE TRIGGER t_upper BEFORE INSERT ON t FOR EACH ROW SET NEW.s = UPPER(NEW.s)")
	cfg := Config{URL: url}.WithDefaults()

	for _, c := range []struct {
		state, phase string
		want         string
	}{
		{restoreState, "undo", "t_upper"}, // killed before the swap: the target's trigger comes back
		{swappedState, "redo", "t_upper"}, // killed after it: the backup's trigger is made
	} {
		undo, _, err := triggerStatements(ctx, conn, target)
		if err != nil {
			t.Fatal(err)
		}
		name := restorePrefix + randomHex(6)
		exec("CREATE DATABASE " + myIdent(name))
		exec("CREATE DATABASE " + myIdent(name+oldSuffix))
		var u, r []stateRow
		if c.phase == "undo" {
			u = undo
		} else {
			r = undo
		}
		if err := saveState(ctx, conn, name, target, u, r); err != nil {
			t.Fatal(err)
		}
		if c.state == swappedState {
			exec("RENAME TABLE " + myIdent(name) + "." + restoreState + " TO " + myIdent(name) + "." + swappedState)
		}
		exec("DROP TRIGGER t_upper")
		sweepServer(ctx, conn, cfg)
		if got := triggers(); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: triggers after the sweep %v; want %s", c.phase, got, c.want)
		}
		left, _ := strings1(ctx, conn, "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN (?, ?)", name, name+oldSuffix)
		if len(left) > 0 {
			t.Errorf("%s: the sweep left %v", c.phase, left)
		}
	}
}

// TestSweepServer_TargetDropped: what a restore killed after its swap left
// is dropped by the next sweep when its target database has been dropped
// since (nothing is left to finish), instead of failing on every sweep.
func TestSweepServer_TargetDropped(t *testing.T) {
	ctx := context.Background()
	url := testenv.MySQLDatabase(t)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Writer().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gone := "kura_test_gone_" + randomHex(6)
	name := restorePrefix + randomHex(6)
	for _, q := range []string{
		"CREATE DATABASE " + myIdent(name),
		"CREATE DATABASE " + myIdent(name+oldSuffix),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	redo := []stateRow{{stmt: "CREATE TABLE never (id INT)"}}
	if err := saveState(ctx, conn, name, gone, nil, redo); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "RENAME TABLE "+myIdent(name)+"."+restoreState+" TO "+myIdent(name)+"."+swappedState); err != nil {
		t.Fatal(err)
	}
	sweepServer(ctx, conn, Config{URL: url}.WithDefaults())
	left, err := strings1(ctx, conn, "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN (?, ?, ?)", name, name+oldSuffix, gone)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("the sweep left %v", left)
	}
}
