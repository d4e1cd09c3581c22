package datamove_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/datamove"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// directions are the moves every engine pair the runbooks name must make.
var directions = []struct{ from, to sqldb.Dialect }{
	{sqldb.SQLite, sqldb.Postgres},
	{sqldb.SQLite, sqldb.MySQL},
	{sqldb.Postgres, sqldb.SQLite},
	{sqldb.Postgres, sqldb.MySQL},
	{sqldb.MySQL, sqldb.Postgres},
}

func move(tb testing.TB, from, to *sqldb.DB, opts datamove.Options) datamove.Report {
	tb.Helper()
	opts.Sets = sets
	opts.ChunkRows = max(opts.ChunkRows, 7) // several chunks per table
	rep, err := datamove.Move(context.Background(), from, to, opts)
	if err != nil {
		tb.Fatalf("move: %v", err)
	}
	return rep
}

func table(tb testing.TB, rep datamove.Report, name string) datamove.TableReport {
	tb.Helper()
	for _, t := range rep.Tables {
		if t.Table == name {
			return t
		}
	}
	tb.Fatalf("the report has no table %s: %+v", name, rep.Tables)
	return datamove.TableReport{}
}

func count(tb testing.TB, db *sqldb.DB, q string) int64 {
	tb.Helper()
	var n int64
	if err := db.Writer().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestMove_Directions(t *testing.T) {
	for _, dir := range directions {
		t.Run(string(dir.from)+"_to_"+string(dir.to), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			from := openMigrated(t, dir.from)
			seed(t, from, 40)
			to := openEmpty(t, dir.to)
			rep := move(t, from, to, datamove.Options{})
			if !rep.Match || rep.Resumed {
				t.Fatalf("report: %+v", rep)
			}
			want := map[string]int64{"users": 40, "sessions": 40, "notifications": 40, "audit_log": 2, "samples": 4, "sample_tags": 6}
			for name, n := range want {
				if tr := table(t, rep, name); tr.SourceRows != n || tr.TargetRows != n || tr.SourceChecksum != tr.TargetChecksum || tr.Copied != n {
					t.Errorf("table %s: %+v, want %d rows", name, tr, n)
				}
			}
			jobTable := map[sqldb.Dialect]string{sqldb.SQLite: "river_job", sqldb.Postgres: "river_job", sqldb.MySQL: "kura_jobs"}[dir.to]
			if tr := table(t, rep, jobTable); tr.TargetRows != 2 || !tr.Match {
				t.Errorf("jobs: %+v, want the 2 waiting jobs", tr)
			}
			if rep.FinishedJobs != 1 {
				t.Errorf("finished jobs not moved = %d, want 1", rep.FinishedJobs)
			}
			checkValues(t, from, to)

			// The target keeps its own identity, and the first insert
			// after the move succeeds on every table with an identity.
			if rep.TargetID == "" || rep.TargetID == rep.SourceID {
				t.Errorf("target identity %q, source %q", rep.TargetID, rep.SourceID)
			}
			u, err := accounts.NewUserService(to).CreateUser(ctx, kura.NewUser{Email: "after@example.com", Username: "after", Password: "a long enough password"})
			if err != nil {
				t.Fatalf("create a user after the move: %v", err)
			}
			if u.ID != 41 {
				t.Errorf("first new user's id = %d, want 41", u.ID)
			}
			exec(t, to, `INSERT INTO samples (flag) VALUES (?)`, true)
			c, err := jobs.New(to, jobs.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Enqueue(ctx, greet{Name: "after"}, nil); err != nil {
				t.Fatalf("enqueue after the move: %v", err)
			}
			waiting, err := c.List(ctx, jobs.ListOptions{States: []jobs.State{jobs.StateAvailable, jobs.StateScheduled}, Limit: 10})
			if err != nil || len(waiting) != 3 {
				t.Fatalf("waiting jobs on the target: %d, %v; want 3", len(waiting), err)
			}
		})
	}
}

// checkValues compares a few values as each engine's driver reads them.
func checkValues(t *testing.T, from, to *sqldb.DB) {
	t.Helper()
	ctx := context.Background()
	var note *string
	var dataNull bool
	var dataLen int
	var at time.Time
	q := `SELECT note, data IS NULL, length(data), ts(at) FROM samples WHERE id = 1`
	if err := to.Reader().QueryRowContext(ctx, to.Rebind(q)).Scan(&note, &dataNull, &dataLen, sqldb.Time(&at)); err != nil {
		t.Fatal(err)
	}
	if note == nil || *note != "" || dataNull || dataLen != 0 {
		t.Errorf("empty string and bytes came back as %v, %v %d", note != nil, dataNull, dataLen)
	}
	want := baseTime.Truncate(time.Millisecond)
	if !at.Truncate(time.Millisecond).Equal(want) {
		t.Errorf("at = %v, want %v", at, want)
	}
	var nulls int64
	if err := to.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM samples WHERE note IS NULL AND data IS NULL AND at IS NULL AND ratio IS NULL AND doc IS NULL AND user_id IS NULL`).Scan(&nulls); err != nil || nulls != 1 {
		t.Errorf("rows of NULLs: %d, %v; want 1", nulls, err)
	}
	var msg string
	if err := to.Reader().QueryRowContext(ctx, `SELECT message FROM notifications WHERE id = 3`).Scan(&msg); err != nil || msg != longText {
		t.Errorf("long non-ASCII text differs (%d bytes, %v)", len(msg), err)
	}
	var tok []byte
	if err := to.Reader().QueryRowContext(ctx, `SELECT token_hash FROM sessions WHERE id = 2`).Scan(&tok); err != nil || !bytes.Equal(tok, bytes.Repeat([]byte{2, 0, 0xff}, 11)[:32]) {
		t.Errorf("token hash = %x, %v", tok, err)
	}
	var flag bool
	if err := to.Reader().QueryRowContext(ctx, `SELECT flag FROM samples WHERE id = 2`).Scan(&flag); err != nil || flag {
		t.Errorf("flag = %v, %v; want false", flag, err)
	}
}

func TestMove_Resume(t *testing.T) {
	ctx := context.Background()
	from := openMigrated(t, sqldb.SQLite)
	seed(t, from, 30)
	to := openEmpty(t, sqldb.Postgres)

	// A run cut short after a few chunks of notifications.
	cctx, cancel := context.WithCancel(ctx)
	_, err := datamove.Move(cctx, from, to, datamove.Options{Sets: sets, ChunkRows: 4, Progress: func(table string, done, total int64) {
		if table == "notifications" && done >= 12 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("a cancelled move succeeded")
	}
	if n := count(t, to, `SELECT COUNT(*) FROM notifications`); n < 12 || n >= 30 {
		t.Fatalf("notifications after the cut: %d", n)
	}

	// Meanwhile the source serves: a new user, a deleted one, an edit.
	exec(t, from, `INSERT INTO users (email, username, password_hash) VALUES ('late@example.com', 'late', 'x')`)
	exec(t, from, `DELETE FROM users WHERE id = 3`)
	exec(t, from, `UPDATE samples SET note = 'edited' WHERE id = 1`)

	rep := move(t, from, to, datamove.Options{ChunkRows: 4})
	if !rep.Resumed || !rep.Match {
		t.Fatalf("rerun: %+v", rep)
	}
	if n := count(t, to, `SELECT COUNT(*) FROM users`); n != 30 {
		t.Errorf("users = %d, want 30", n)
	}
	if n := count(t, to, `SELECT COUNT(*) FROM (SELECT id FROM notifications GROUP BY id HAVING COUNT(*) > 1) d`); n != 0 {
		t.Errorf("%d duplicated notifications", n)
	}
	if tr := table(t, rep, "notifications"); tr.TargetRows != 29 {
		t.Errorf("notifications: %+v", tr)
	}
}

func TestMove_Refusals(t *testing.T) {
	ctx := context.Background()
	run := func(from, to *sqldb.DB, opts datamove.Options) error {
		opts.Sets = sets
		_, err := datamove.Move(ctx, from, to, opts)
		return err
	}
	t.Run("SameDatabase", func(t *testing.T) {
		db := openMigrated(t, sqldb.SQLite)
		if err := run(db, db, datamove.Options{}); err == nil || !contains(err, "same database") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("SourceNotMigrated", func(t *testing.T) {
		if err := run(openEmpty(t, sqldb.SQLite), openEmpty(t, sqldb.SQLite), datamove.Options{}); err == nil || !contains(err, "not migrated") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("SourceOlder", func(t *testing.T) {
		from := openMigrated(t, sqldb.SQLite)
		if err := from.MigrateDown(ctx, sets...); err != nil {
			t.Fatal(err)
		}
		if err := run(from, openEmpty(t, sqldb.SQLite), datamove.Options{}); err == nil || !contains(err, "older") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("TargetNewer", func(t *testing.T) {
		from := openMigrated(t, sqldb.SQLite)
		to := openMigrated(t, sqldb.SQLite)
		exec(t, to, `INSERT INTO datamove_test_schema_migrations (version_id, is_applied) VALUES (9, 1)`)
		if err := run(from, to, datamove.Options{Force: true}); err == nil || !contains(err, "newer") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("TargetNotFromMove", func(t *testing.T) {
		from := openMigrated(t, sqldb.SQLite)
		seed(t, from, 3)
		to := openMigrated(t, sqldb.SQLite)
		exec(t, to, `INSERT INTO users (email, username, password_hash) VALUES ('other@example.com', 'other', 'x')`)
		if err := run(from, to, datamove.Options{}); err == nil || !contains(err, "--force") {
			t.Fatalf("err = %v", err)
		}
		if n := count(t, to, `SELECT COUNT(*) FROM users`); n != 1 {
			t.Fatalf("the refused target lost its rows: %d users", n)
		}
		if err := run(from, to, datamove.Options{Force: true}); err != nil {
			t.Fatalf("with --force: %v", err)
		}
		if n := count(t, to, `SELECT COUNT(*) FROM users WHERE email = 'other@example.com'`); n != 0 {
			t.Fatal("--force kept the target's own rows")
		}
	})
	t.Run("AnotherSource", func(t *testing.T) {
		a, b := openMigrated(t, sqldb.SQLite), openMigrated(t, sqldb.SQLite)
		to := openEmpty(t, sqldb.SQLite)
		if err := run(a, to, datamove.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := run(b, to, datamove.Options{}); err == nil || !contains(err, "another database") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("UnknownTable", func(t *testing.T) {
		from := openMigrated(t, sqldb.SQLite)
		seed(t, from, 3)
		exec(t, from, `CREATE TABLE mystery (id INTEGER PRIMARY KEY)`)
		to := openEmpty(t, sqldb.Postgres)
		err := run(from, to, datamove.Options{})
		var ue *datamove.UnknownTablesError
		if !errors.As(err, &ue) || len(ue.Tables) != 1 || ue.Tables[0] != "mystery" {
			t.Fatalf("err = %v", err)
		}
		exec(t, from, `DROP TABLE mystery`)
		if err := run(from, to, datamove.Options{}); err != nil {
			t.Fatalf("rerun once the table is gone: %v", err)
		}
	})
}

func contains(err error, s string) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte(s))
}

// TestMove_TargetGoesAway: the target's server unreachable in the middle
// of the copy fails the move with a clear error; the same move again, once
// it is back, resumes and copies every row once.
func TestMove_TargetGoesAway(t *testing.T) {
	ctx := context.Background()
	from := openMigrated(t, sqldb.SQLite)
	seed(t, from, 60)
	direct := dbURL(t, sqldb.Postgres)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	to := openURL(t, u.String())
	_, err = datamove.Move(ctx, from, to, datamove.Options{Sets: sets, ChunkRows: 5, Progress: func(table string, done, total int64) {
		if table == "notifications" && done >= 20 {
			proxy.Refuse()
		}
	}})
	if err == nil || !contains(err, "run the same command again") {
		t.Fatalf("err = %v", err)
	}
	proxy.Resume()
	rep := move(t, from, openURL(t, u.String()), datamove.Options{ChunkRows: 5}) // a new process: new connections
	if !rep.Resumed || !rep.Match || table(t, rep, "notifications").TargetRows != 60 {
		t.Fatalf("rerun: %+v", rep)
	}
}

// TestMove_DiskFull: a SQLite target whose disk fills fails the move
// saying so; with room again, the same move resumes.
func TestMove_DiskFull(t *testing.T) {
	ctx := context.Background()
	from := openMigrated(t, sqldb.Postgres)
	seed(t, from, 200)
	to2 := openEmpty(t, sqldb.SQLite)
	// A fresh target, its file limited to a few pages more than the schema.
	var schemaPages int64
	_, err := datamove.Move(ctx, from, to2, datamove.Options{Sets: sets, ChunkRows: 10, Progress: func(table string, done, total int64) {
		if table == "users" && done == 0 && schemaPages == 0 {
			to2.Writer().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&schemaPages)
			to2.Writer().ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, schemaPages+8))
		}
	}})
	if err == nil || !contains(err, "disk is full") {
		t.Fatalf("err = %v", err)
	}
	if _, err := to2.Writer().ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	rep := move(t, from, to2, datamove.Options{ChunkRows: 10})
	if !rep.Resumed || !rep.Match || table(t, rep, "notifications").TargetRows != 200 {
		t.Fatalf("rerun: %+v", rep)
	}
}

// freezer stands for the source's read-only mode: entering it runs the
// writes the source took after the last pass, as a serving app would
// have just before it stopped.
type freezer struct {
	enter         func()
	entered, left int
}

func (f *freezer) EnterReadOnly(context.Context, string) error { f.entered++; f.enter(); return nil }
func (f *freezer) LeaveReadOnly(context.Context) error         { f.left++; return nil }

// TestMove_CutOver: the writes made between the last pass and the freeze
// (an update, inserts, deletes, in tables with updated_at, append-only
// ones and others) are on the target after the cut-over, verified, and a
// later move refuses the target.
func TestMove_CutOver(t *testing.T) {
	t.Cleanup(datamove.SetRangeRows(4)) // ranges of a few rows: the freeze reads only those that changed
	for _, dir := range directions[:4] {
		t.Run(string(dir.from)+"_to_"+string(dir.to), func(t *testing.T) {
			t.Parallel()
			from := openMigrated(t, dir.from)
			seed(t, from, 50)
			to := openEmpty(t, dir.to)
			f := &freezer{enter: func() {
				exec(t, from, `UPDATE users SET username = 'renamed' WHERE id = 7`)
				exec(t, from, `INSERT INTO users (email, username, password_hash) VALUES ('late@example.com', 'late', 'x')`)
				exec(t, from, `DELETE FROM notifications WHERE id = 20`)
				exec(t, from, `INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
					51, bytes.Repeat([]byte{9}, 32), from.TimeArg(baseTime), from.TimeArg(baseTime))
				exec(t, from, `UPDATE samples SET note = 'edited' WHERE id = 3`)
				exec(t, from, `DELETE FROM sample_tags WHERE tag = 'B'`)
				exec(t, from, `INSERT INTO sample_tags (sample_id, tag) VALUES (2, 'new')`)
			}}
			rep := move(t, from, to, datamove.Options{Freeze: f, Logger: dbtest.Logger(t, slog.LevelInfo)})
			if !rep.Match || !rep.CutOver || f.entered != 1 || f.left != 0 {
				t.Fatalf("cut-over: %+v (entered %d, left %d)", rep, f.entered, f.left)
			}
			for name, rows := range map[string]int64{"users": 51, "notifications": 49, "sessions": 51, "samples": 4, "sample_tags": 6} {
				if tr := table(t, rep, name); tr.TargetRows != rows || tr.SourceChecksum != tr.TargetChecksum {
					t.Errorf("%s: %+v, want %d rows", name, tr, rows)
				}
			}
			if n := count(t, to, `SELECT COUNT(*) FROM users WHERE id = 7 AND username = 'renamed'`); n != 1 {
				t.Error("the update made before the freeze is not on the target")
			}
			if n := count(t, to, `SELECT COUNT(*) FROM samples WHERE note = 'edited'`); n != 1 {
				t.Error("the sample's edit is not on the target")
			}
			if _, err := datamove.Move(context.Background(), from, to, datamove.Options{Sets: sets}); err == nil || !contains(err, "cut over") {
				t.Errorf("a move after the cut-over: %v", err)
			}
		})
	}
}

// TestMove_CutOverFails: a freeze that cannot be entered fails the
// cut-over and leaves read-only mode.
func TestMove_CutOverFails(t *testing.T) {
	from := openMigrated(t, sqldb.SQLite)
	seed(t, from, 5)
	f := &failingFreezer{}
	_, err := datamove.Move(context.Background(), from, openEmpty(t, sqldb.SQLite), datamove.Options{Sets: sets, Freeze: f})
	if err == nil || !contains(err, "read-only") || f.left != 1 {
		t.Fatalf("err = %v, left %d times", err, f.left)
	}
}

type failingFreezer struct{ left int }

func (f *failingFreezer) EnterReadOnly(context.Context, string) error {
	return errors.New("an instance did not acknowledge")
}
func (f *failingFreezer) LeaveReadOnly(context.Context) error { f.left++; return nil }

// TestMove_Mismatch: a target that changes what it is given (here a
// trigger) fails the verification, naming the table and its first
// differing key range.
func TestMove_Mismatch(t *testing.T) {
	ctx := context.Background()
	from := openMigrated(t, sqldb.SQLite)
	seed(t, from, 30)
	to := openEmpty(t, sqldb.Postgres)
	cctx, cancel := context.WithCancel(ctx)
	datamove.Move(cctx, from, to, datamove.Options{Sets: sets, ChunkRows: 4, Progress: func(table string, done, total int64) {
		if table == "users" && done > 0 {
			cancel()
		}
	}})
	exec(t, to, `CREATE FUNCTION datamove_mangle() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN NEW.message := NEW.message || '!'; RETURN NEW; END $$`)
	exec(t, to, `CREATE TRIGGER datamove_mangle BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION datamove_mangle()`)
	rep, err := datamove.Move(ctx, from, to, datamove.Options{Sets: sets, ChunkRows: 4})
	var me *datamove.MismatchError
	if !errors.As(err, &me) || len(me.Tables) != 1 || me.Tables[0].Table != "notifications" || rep.Match {
		t.Fatalf("err = %v, report %+v", err, rep)
	}
	if !contains(err, "table notifications differs") || !contains(err, "first in id 0 to") {
		t.Errorf("the error does not name the table and its first range: %v", err)
	}
}
