package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/datamove"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// moveSource makes a migrated SQLite file with users, twice as many
// notifications and half as many sessions, written in SQL as the
// benchmark does.
func moveSource(t *testing.T, users int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "source.db")
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, schemas...); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO users (email, username, password_hash) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT 'user' || i || '@example.com', 'ユーザー' || i, 'x' FROM n`, users),
		fmt.Sprintf(`INSERT INTO notifications (user_id, kind, idempotency_key, message) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT (i - 1) %% %d + 1, 'welcome', 'n:' || i, 'Grüße ' || i FROM n`, 2*users, users),
		fmt.Sprintf(`INSERT INTO sessions (user_id, token_hash, created_at, expires_at) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT i, randomblob(32), '2026-01-01 00:00:00.000', '2027-01-01 00:00:00.000' FROM n`, users/2),
	} {
		if _, err := db.Writer().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// moveTargets are the engines a move's end-to-end tests move into, each
// making an empty database and returning its URL.
var moveTargets = []struct {
	name string
	make func(t *testing.T) string
}{
	{"postgres", func(t *testing.T) string { return testenv.PostgresDatabaseNamed(t, "kura_datamove_") }},
	{"mysql", func(t *testing.T) string { return testenv.MySQLDatabaseNamed(t, "kura_datamove_") }},
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "target.db") }},
}

// openTarget opens a move's target for the test's own queries, written
// with ? for every engine.
func openTarget(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryRow runs query on db's reader and scans its one row into dest.
func queryRow(db *sqldb.DB, dest []any, query string, args ...any) error {
	return db.Read(context.Background(), func(q sqldb.Querier) error {
		return q.QueryRowContext(context.Background(), query, args...).Scan(dest...)
	})
}

// TestDataMove_KillNine: kura data move, killed with SIGKILL at five
// random points of the copy and run again each time, ends with the
// source's every row once on the target: identical checksums, no
// duplicates.
func TestDataMove_KillNine(t *testing.T) {
	for _, tg := range moveTargets {
		t.Run(tg.name, func(t *testing.T) { testDataMoveKillNine(t, tg.make(t)) })
	}
}

func testDataMoveKillNine(t *testing.T, dst string) {
	src := moveSource(t, 4000)
	var target *sqldb.DB
	copied := func() int64 {
		if target == nil { // opened once the move made the target (a SQLite file)
			return 0
		}
		var n sql.NullInt64
		queryRow(target, []any{&n}, `SELECT SUM(rows_copied) FROM kura_data_move`)
		return n.Int64
	}
	for i := range 5 {
		before := copied()
		at := before + 100 + rand.Int64N(max(1, (14000-before)/3)) // rows copied in all when this run is killed
		cmd := exec.Command(os.Args[0], "data", "move", "--env-file=", "--from", src, "--to-env", "KURA_MOVE_TO", "--chunk-rows", "50")
		cmd.Env = []string{"KURA_TEST_CHILD=1", "KURA_MOVE_TO=" + dst, "PATH=" + os.Getenv("PATH")}
		var logs testenv.LogBuffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		testenv.Wait(t, time.Minute, "the move to copy more rows", func() bool {
			select {
			case err := <-done:
				t.Fatalf("run %d ended before the kill: %v\n%s", i, err, logs.String())
			default:
			}
			if target == nil && strings.Contains(logs.String(), "copying") {
				target = openTarget(t, dst)
			}
			return copied() >= at
		})
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Logf("run %d killed after %d rows in all", i+1, copied())
	}
	out, errs, code := run(t, []string{"KURA_MOVE_TO=" + dst}, "data", "move", "--env-file=", "--from", src, "--to-env", "KURA_MOVE_TO", "--json")
	if code != 0 {
		t.Fatalf("the last run: exit %d\n%s", code, errs)
	}
	var rep datamove.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if !rep.Resumed || !rep.Match {
		t.Fatalf("report: %+v", rep)
	}
	want := map[string]int64{"users": 4000, "notifications": 8000, "sessions": 2000}
	for _, tr := range rep.Tables {
		if n, ok := want[tr.Table]; ok && (tr.TargetRows != n || tr.SourceChecksum != tr.TargetChecksum) {
			t.Errorf("%s: %+v, want %d rows", tr.Table, tr, n)
		}
	}
	for table, key := range map[string]string{"users": "email", "notifications": "idempotency_key", "sessions": "token_hash"} {
		var rows, distinct int64
		q := fmt.Sprintf(`SELECT COUNT(*), COUNT(DISTINCT %s) FROM %s`, key, table)
		if err := queryRow(target, []any{&rows, &distinct}, q); err != nil || rows != distinct || rows != want[table] {
			t.Errorf("%s: %d rows, %d distinct, want %d (%v)", table, rows, distinct, want[table], err)
		}
	}
}

// TestDataMove_BadInput: the same database twice, a source that does not
// exist, and a missing flag get a clear error and change nothing.
func TestDataMove_BadInput(t *testing.T) {
	src := moveSource(t, 10)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--from", src, "--to", "sqlite:" + src}, 1, "same database"},
		{[]string{"--from", filepath.Join(t.TempDir(), "missing.db"), "--to", filepath.Join(t.TempDir(), "t.db")}, 1, "does not exist"},
		{[]string{"--from", src}, 2, "--to"},
		{[]string{"--from", src, "--to", "postgres://kura@127.0.0.1:1/kura_datamove_unreachable?sslmode=disable"}, 1, "target"},
	} {
		_, errs, code := run(t, nil, append([]string{"data", "move", "--env-file="}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("kura data move %s: exit %d, %q; want %d and %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.want)
		}
	}
}

// TestDataMove_CutOver: with a kura serve on the SQLite source taking a
// steady stream of registrations, kura data move --cut-over copies the
// data, puts the server into read-only mode (writes answer 503), copies
// the last writes and verifies: every registration answered 2xx is on the
// target.
func TestDataMove_CutOver(t *testing.T) {
	for _, tg := range moveTargets {
		t.Run(tg.name, func(t *testing.T) { testDataMoveCutOver(t, tg.make(t)) })
	}
}

func testDataMoveCutOver(t *testing.T, dst string) {
	src := moveSource(t, 2000)
	srv := startChild(t, "DATABASE_URL="+src)

	var mu sync.Mutex
	var created []string
	var unavailable int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond) // 50 writes/s
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			email := fmt.Sprintf("load%d@example.com", i)
			body := fmt.Sprintf(`{"email":%q,"username":"load%d","password":"a long enough password"}`, email, i)
			resp, err := http.Post(srv.srv.URL+"/api/users", "application/json", strings.NewReader(body))
			if err != nil {
				continue
			}
			resp.Body.Close()
			mu.Lock()
			switch {
			case resp.StatusCode/100 == 2:
				created = append(created, email)
			case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
				unavailable++
			}
			mu.Unlock()
		}
	}()
	testenv.Wait(t, time.Minute, "the first registrations", func() bool { mu.Lock(); defer mu.Unlock(); return len(created) >= 5 })

	out, errs, code := run(t, []string{"KURA_MOVE_TO=" + dst}, "data", "move", "--env-file=", "--from", src, "--to-env", "KURA_MOVE_TO", "--cut-over")
	if code != 0 {
		close(stop)
		wg.Wait()
		t.Fatalf("cut-over: exit %d\n%s\n%s", code, out, errs)
	}
	testenv.Wait(t, time.Minute, "a write refused", func() bool { mu.Lock(); defer mu.Unlock(); return unavailable > 0 })
	close(stop)
	wg.Wait()
	if !strings.Contains(out, "DATABASE_URL=the value of KURA_MOVE_TO") || !strings.Contains(out, "read-only for") {
		t.Errorf("the cut-over does not say what to switch to:\n%s", out)
	}

	target := openTarget(t, dst)
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, e := range created {
		var n int
		if err := queryRow(target, []any{&n}, `SELECT COUNT(*) FROM users WHERE email = ?`, e); err != nil || n != 1 {
			missing++
		}
	}
	t.Logf("%d registrations answered 2xx before the freeze, %d answered 503; %d missing on the target", len(created), unavailable, missing)
	if missing > 0 {
		t.Fatalf("%d acknowledged writes are not on the target:\n%s", missing, out)
	}
	var on bool
	if err := queryRow(target, []any{&on}, `SELECT is_on FROM kura_read_only`); err != nil || on {
		t.Errorf("the target's read-only switch is %v (%v), want off", on, err)
	}
	// A second run refuses to overwrite the target that was cut over.
	if _, errs, code := run(t, []string{"KURA_MOVE_TO=" + dst}, "data", "move", "--env-file=", "--from", src, "--to-env", "KURA_MOVE_TO"); code != 1 || !strings.Contains(errs, "cut over") {
		t.Errorf("a move after the cut-over: exit %d, %s", code, errs)
	}
}
