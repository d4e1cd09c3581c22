package sqldb_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// TestDB_ReadOnly_EnterLeave: the switch starts off at generation 0;
// entering with no live instance returns at once, sets the reason and
// raises the generation; entering again keeps the generation; leaving
// raises it again and clears the reason; leaving twice changes nothing.
func TestDB_ReadOnly_EnterLeave(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := mustReadOnlyState(t, db)
		if st.On || st.Generation != 0 || st.Reason != "" || len(st.Acknowledged)+len(st.Waiting) != 0 {
			t.Fatalf("a new database's switch: %+v", st)
		}
		before := time.Now().Add(-time.Second)
		if err := db.EnterReadOnly(ctx, "data move"); err != nil {
			t.Fatal(err)
		}
		st = mustReadOnlyState(t, db)
		if !st.On || st.Generation != 1 || st.Reason != "data move" || st.Since.Before(before) {
			t.Fatalf("after EnterReadOnly: %+v", st)
		}
		if err := db.EnterReadOnly(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if st2 := mustReadOnlyState(t, db); !st2.On || st2.Generation != 1 || st2.Reason != "data move" || !st2.Since.Equal(st.Since) {
			t.Fatalf("entering again: %+v, want generation, reason and since kept", st2)
		}
		for range 2 {
			if err := db.LeaveReadOnly(ctx); err != nil {
				t.Fatal(err)
			}
			if st = mustReadOnlyState(t, db); st.On || st.Generation != 2 || st.Reason != "" {
				t.Fatalf("after LeaveReadOnly: %+v", st)
			}
		}
		if err := db.EnterReadOnly(ctx, strings.Repeat("x", sqldb.MaxReadOnlyReason+1)); kura.ErrorCode(err) != kura.EINVALID {
			t.Fatalf("a reason too long: %v, want EINVALID", err)
		}
	})
}

// TestDB_ReadOnly_WaitsForAck: EnterReadOnly returns only once every live
// instance has announced the new generation; ReadOnlyState says which
// have.
func TestDB_ReadOnly_WaitsForAck(t *testing.T) {
	host := mustHostname(t)
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		a := sqldb.Instance{ID: "a", Hostname: host, PID: os.Getpid(), Addr: "http://127.0.0.1:1", Version: "test", Started: time.Now()}
		b := a
		b.ID, b.Addr = "b", "worker"
		for _, inst := range []sqldb.Instance{a, b} {
			if err := db.Announce(ctx, inst); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() { done <- db.EnterReadOnly(ctx, "maintenance") }()
		st := waitReadOnly(t, db, func(st sqldb.ReadOnlyState) bool { return st.On })
		if len(st.Waiting) != 2 || len(st.Acknowledged) != 0 {
			t.Fatalf("before any acknowledgement: %+v", st)
		}
		a.ReadOnlyGeneration = st.Generation
		if err := db.Announce(ctx, a); err != nil {
			t.Fatal(err)
		}
		st = waitReadOnly(t, db, func(st sqldb.ReadOnlyState) bool { return len(st.Acknowledged) == 1 })
		select {
		case err := <-done:
			t.Fatalf("EnterReadOnly returned (%v) while instance b had not acknowledged", err)
		default:
		}
		if st.Waiting[0].ID != "b" || st.Acknowledged[0].ID != "a" {
			t.Fatalf("acknowledged %v, waiting %v", st.Acknowledged, st.Waiting)
		}
		b.ReadOnlyGeneration = st.Generation
		if err := db.Announce(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("EnterReadOnly after both acknowledged: %v", err)
		}
		if st := mustReadOnlyState(t, db); len(st.Acknowledged) != 2 || len(st.Waiting) != 0 {
			t.Fatalf("after both: %+v", st)
		}
		// Leaving: the instances are behind again until they apply it.
		if err := db.LeaveReadOnly(ctx); err != nil {
			t.Fatal(err)
		}
		if st := mustReadOnlyState(t, db); st.On || len(st.Waiting) != 2 {
			t.Fatalf("after leaving: %+v", st)
		}
	})
}

// TestDB_ReadOnly_Timeout: an instance seen recently (of another machine)
// that never acknowledges makes EnterReadOnly fail at its deadline with an
// error that names it and says the mode stays on; an instance whose
// process is gone, or whose beats are older than ServingWindow, is not
// waited for.
func TestDB_ReadOnly_Timeout(t *testing.T) {
	host := mustHostname(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, inst := range []sqldb.Instance{
			{ID: "stale", Hostname: "web-9", PID: 4242, Addr: "http://10.0.0.9:8080", Version: "old", Started: time.Now()},
			{ID: "killed", Hostname: host, PID: dead, Addr: "http://127.0.0.1:2", Version: "test", Started: time.Now().Add(-time.Minute)},
			{ID: "old", Hostname: "web-8", PID: 4343, Addr: "http://10.0.0.8:8080", Version: "test", Started: time.Now()},
		} {
			if err := db.Announce(ctx, inst); err != nil {
				t.Fatal(err)
			}
		}
		long := db.TimeArg(time.Now().Add(-2 * sqldb.ServingWindow))
		if _, err := db.Writer().ExecContext(ctx, db.Rebind(`UPDATE kura_instances SET seen_at = ? WHERE id = 'old'`), long); err != nil {
			t.Fatal(err)
		}
		tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err := db.EnterReadOnly(tctx, "data move")
		var te *sqldb.ReadOnlyTimeoutError
		if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("EnterReadOnly: %v, want a *ReadOnlyTimeoutError of the deadline", err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "web-9 pid 4242 on http://10.0.0.9:8080") || !strings.Contains(msg, "stays on") ||
			strings.Contains(msg, "web-8") || strings.Contains(msg, "127.0.0.1:2") || len(te.Waiting) != 1 {
			t.Fatalf("the error names %d instances: %s", len(te.Waiting), msg)
		}
		if st := mustReadOnlyState(t, db); !st.On || st.Generation != 1 {
			t.Fatalf("after the timeout: %+v, want the mode on", st)
		}
	})
}

// TestDB_ReadOnly_Changed: EnterReadOnly stops waiting, with
// ErrReadOnlyChanged, when the mode is left while it waits.
func TestDB_ReadOnly_Changed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		inst := sqldb.Instance{ID: "x", Hostname: "web-7", PID: 7, Addr: "worker", Version: "test", Started: time.Now()}
		if err := db.Announce(ctx, inst); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- db.EnterReadOnly(ctx, "") }()
		waitReadOnly(t, db, func(st sqldb.ReadOnlyState) bool { return st.On })
		if err := db.LeaveReadOnly(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, sqldb.ErrReadOnlyChanged) {
			t.Fatalf("EnterReadOnly: %v, want ErrReadOnlyChanged", err)
		}
	})
}

func mustHostname(t *testing.T) string {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return host
}

func mustReadOnlyState(t *testing.T, db *sqldb.DB) sqldb.ReadOnlyState {
	t.Helper()
	st, err := db.ReadOnlyState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitReadOnly polls the state until ok holds, failing after 10 s.
func waitReadOnly(t *testing.T, db *sqldb.DB, ok func(sqldb.ReadOnlyState) bool) sqldb.ReadOnlyState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := mustReadOnlyState(t, db)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the read-only state never got there: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
