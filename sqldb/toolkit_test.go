package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// things is an application's set of migrations, as an app writes one: a
// table with a unique name, a number and a time.
var things = &sqldb.Migrations{Name: "things", FS: fstest.MapFS{
	"sqlite/00001_things.sql": {Data: []byte(`-- +goose Up
CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, score INTEGER NOT NULL, at DATETIME NOT NULL);
-- +goose Down
DROP TABLE things;
`)},
	"postgres/00001_things.sql": {Data: []byte(`-- +goose Up
CREATE TABLE things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE, score bigint NOT NULL, at timestamptz NOT NULL);
-- +goose Down
DROP TABLE things;
`)},
	"mysql/00001_things.sql": {Data: []byte(`-- +goose Up
CREATE TABLE things (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE, score BIGINT NOT NULL, at DATETIME(6) NOT NULL);
-- +goose Down
DROP TABLE things;
`)},
}}

// forEachEngineThings runs fn on every engine with a fresh database that
// has kura's schema and things.
func forEachEngineThings(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		if err := db.MigrateUp(context.Background(), store.Schema, things); err != nil {
			t.Fatal(err)
		}
		fn(t, db)
	})
}

// precision is what the engine keeps of a time.
func precision(d sqldb.Dialect) time.Duration {
	if d == sqldb.SQLite {
		return time.Millisecond
	}
	return time.Microsecond
}

func TestTx_RebindsItself(t *testing.T) {
	forEachEngineThings(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		at := db.Timestamp()
		// ? placeholders, no Rebind, in InTx and in Read: the form that
		// SQLite alone accepted raw.
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO things (name, score, at) VALUES (?, ?, ?)", "a", 1, at); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT score FROM things WHERE name = ? AND score = ?", "a", 1).Scan(&n); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, "SELECT name FROM things WHERE score >= ?", 1)
			if err != nil {
				return err
			}
			return rows.Close()
		})
		if err != nil {
			t.Fatalf("InTx with ? placeholders: %v", err)
		}
		var score int
		err = db.Read(ctx, func(q sqldb.Querier) error {
			return q.QueryRowContext(ctx, "SELECT score FROM things WHERE name = ?", "a").Scan(&score)
		})
		if err != nil || score != 1 {
			t.Fatalf("Read with ?: score %d, %v", score, err)
		}
		// A query rebound by hand, or written in $n form, is not broken.
		err = db.Read(ctx, func(q sqldb.Querier) error {
			return q.QueryRowContext(ctx, db.Rebind("SELECT score FROM things WHERE name = ?"), "a").Scan(&score)
		})
		if err != nil {
			t.Fatalf("Read of a query rebound twice: %v", err)
		}
		if db.Dialect() == sqldb.Postgres {
			err = db.InTx(ctx, func(tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE things SET score = $1 WHERE name = $2", 2, "a")
				return err
			})
			if err != nil {
				t.Fatalf("InTx with $n placeholders: %v", err)
			}
		}
		// The helpers take a raw *sql.Tx as well and rebind for it.
		tx, err := db.Writer().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := db.Insert(ctx, tx, "INSERT INTO things (name, score, at) VALUES (?, ?, ?)", "b", 3, at); err != nil {
			t.Fatalf("Insert on a raw *sql.Tx: %v", err)
		}
		names, err := sqldb.QueryAll(ctx, db, tx, func(r sqldb.Scanner) (s string, err error) { return s, r.Scan(&s) },
			"SELECT name FROM things WHERE at = ? ORDER BY name", at)
		if err != nil || strings.Join(names, ",") != "a,b" {
			t.Fatalf("QueryAll on a raw *sql.Tx: %v, %v; want [a b]", names, err)
		}
	})
}

func TestTime_RoundTrip(t *testing.T) {
	forEachEngineThings(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		prec := precision(db.Dialect())
		// A time in a zone east of UTC, with nanoseconds: what a caller
		// may hold; and one west of UTC.
		in := time.Date(2026, 3, 4, 23, 6, 7, 123456789, time.FixedZone("IST", 5*3600+1800))
		in2 := time.Date(2026, 3, 4, 12, 0, 0, 999999999, time.FixedZone("PST", -8*3600))
		want, want2 := in.UTC().Truncate(prec), in2.UTC().Truncate(prec)
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO things (name, score, at) VALUES (?, ?, ?)", "in", 1, in); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO things (name, score, at) VALUES (?, ?, ?)", "in2", 2, &in2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Read(ctx, func(q sqldb.Querier) error {
			// Compared with a raw time.Time: equal, and in time order.
			var got, viaTime time.Time
			if err := q.QueryRowContext(ctx, "SELECT at, ts(at) FROM things WHERE at = ?", in).Scan(&got, sqldb.Time(&viaTime)); err != nil {
				return err
			}
			if got != want || viaTime != want {
				t.Errorf("scanned %v (%v) and via Time %v; want %v in UTC", got, got.Location(), viaTime, want)
			}
			names, err := sqldb.QueryAll(ctx, db, q, func(r sqldb.Scanner) (s string, err error) { return s, r.Scan(&s) },
				"SELECT name FROM things WHERE at > ? AND at <= ? ORDER BY at", in.Add(-prec), in2)
			if err != nil {
				return err
			}
			// in is 17:36 UTC, in2 20:00 UTC: time order, not text order.
			if strings.Join(names, ",") != "in,in2" {
				t.Errorf("between %v and %v: %v; want [in in2], in time order", in.Add(-prec), in2, names)
			}
			var n int
			if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM things WHERE at < ?", in).Scan(&n); err != nil {
				return err
			}
			if n != 0 {
				t.Errorf("%d rows before %v; want 0", n, in)
			}
			var got2 time.Time
			if err := q.QueryRowContext(ctx, "SELECT at FROM things WHERE name = ?", "in2").Scan(&got2); err != nil {
				return err
			}
			if got2 != want2 {
				t.Errorf("scanned %v; want %v", got2, want2)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == sqldb.SQLite {
			// ts(col) reads text on SQLite: scanning it into a raw
			// *time.Time fails loudly rather than reading a wrong time.
			err := db.Read(ctx, func(q sqldb.Querier) error {
				var got time.Time
				return q.QueryRowContext(ctx, "SELECT ts(at) FROM things WHERE name = ?", "in").Scan(&got)
			})
			if err == nil || !strings.Contains(err.Error(), "time.Time") {
				t.Errorf("ts(at) scanned into *time.Time: %v; want an error", err)
			}
		}
	})
}

func TestDB_Upsert(t *testing.T) {
	forEachEngineThings(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		u := sqldb.Upsert{Table: "things", Key: []string{"name"}, Set: []string{"score", "at"}}
		t1 := db.Timestamp()
		t2 := t1.Add(time.Hour)
		upsert := func(u sqldb.Upsert, values ...any) error {
			return db.InTx(ctx, func(tx *sqldb.Tx) error { return db.Upsert(ctx, tx, u, values...) })
		}
		read := func() (n, score int, at time.Time) {
			t.Helper()
			err := db.Read(ctx, func(q sqldb.Querier) error {
				if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM things").Scan(&n); err != nil {
					return err
				}
				return q.QueryRowContext(ctx, "SELECT score, at FROM things WHERE name = ?", "x").Scan(&score, &at)
			})
			if err != nil {
				t.Fatal(err)
			}
			return n, score, at
		}
		if err := upsert(u, "x", 1, t1); err != nil {
			t.Fatalf("insert: %v", err)
		}
		if n, score, at := read(); n != 1 || score != 1 || at != t1 {
			t.Fatalf("after insert: %d rows, score %d at %v; want 1 row, 1 at %v", n, score, at, t1)
		}
		if err := upsert(u, "x", 2, t2); err != nil {
			t.Fatalf("update: %v", err)
		}
		if n, score, at := read(); n != 1 || score != 2 || at != t2 {
			t.Fatalf("after update: %d rows, score %d at %v; want 1 row, 2 at %v", n, score, at, t2)
		}
		// InsertOnly columns are left as they are by an update.
		stamp := sqldb.Upsert{Table: "things", Key: []string{"name"}, Set: []string{"score"}, InsertOnly: []string{"at"}}
		if err := upsert(stamp, "x", 3, t1); err != nil {
			t.Fatalf("update with InsertOnly: %v", err)
		}
		if n, score, at := read(); n != 1 || score != 3 || at != t2 {
			t.Fatalf("after update with InsertOnly: %d rows, score %d at %v; want 1 row, 3 at %v", n, score, at, t2)
		}
		// Without Set, a row that exists stays as it is, and no error.
		keep := sqldb.Upsert{Table: "things", Key: []string{"name"}, InsertOnly: []string{"score", "at"}}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO things (name, score, at) VALUES (?, ?, ?)", "y", 5, t1); err != nil {
				return err
			}
			return db.Upsert(ctx, tx, keep, "x", 9, t1)
		})
		if err != nil {
			t.Fatalf("upsert without Set: %v", err)
		}
		if n, score, at := read(); n != 2 || score != 3 || at != t2 {
			t.Fatalf("after upsert without Set: %d rows, score %d at %v; want 2 rows, score 3 at %v", n, score, at, t2)
		}
		// A bad description is refused before anything runs.
		for _, tc := range []struct {
			u      sqldb.Upsert
			values []any
			want   string
		}{
			{sqldb.Upsert{Table: "things; DROP TABLE users", Key: []string{"name"}}, []any{"x"}, `the table "things; DROP TABLE users" is not a plain lower-case name`},
			{sqldb.Upsert{Table: "things", Key: []string{"Name"}}, []any{"x"}, `the column "Name" is not a plain lower-case name`},
			{sqldb.Upsert{Table: "things"}, nil, "no Key columns"},
			{sqldb.Upsert{Table: "things", Key: []string{"name"}, Set: []string{"name"}}, []any{"x", "x"}, "named twice"},
			{u, []any{"x", 1}, "2 values for 3 columns"},
		} {
			if err := upsert(tc.u, tc.values...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Upsert(%+v): %v; want an error containing %q", tc.u, err, tc.want)
			}
		}
	})
}

func TestMigrateUp_NoMigrationsNamesTheFolder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		d := string(db.Dialect())
		other := "sqlite"
		if d == other {
			other = "postgres"
		}
		sql := fstest.MapFile{Data: []byte("-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n")}
		for _, tc := range []struct {
			name string
			fs   fstest.MapFS
			sub  string
			want string
		}{
			// Only another engine's folder.
			{"OtherEngine", fstest.MapFS{other + "/00001_notes.sql": &sql}, "",
				`migration set "notes": no migrations for ` + d + ` in folder "` + d + `" (found: ` + other + `/)`},
			// The same, from an embed.FS through SubFS: the folder as embedded.
			{"SubFS", fstest.MapFS{"migrations/" + other + "/00001_notes.sql": &sql}, "migrations",
				`migration set "notes": no migrations for ` + d + ` in folder "migrations/` + d + `" (found: ` + other + `/)`},
			// An embed.FS passed without SubFS.
			{"NoSubFS", fstest.MapFS{"migrations/" + d + "/00001_notes.sql": &sql}, "",
				`migration set "notes": no migrations for ` + d + ` in folder "` + d + `" (found: migrations/)`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				set := &sqldb.Migrations{Name: "notes", FS: tc.fs}
				if tc.sub != "" {
					set.FS = sqldb.SubFS(tc.fs, tc.sub)
				}
				err := db.MigrateUp(context.Background(), store.Schema, set)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("MigrateUp: %v; want an error containing %s", err, tc.want)
				}
			})
		}
		// A set whose FS finds its folder through SubFS still migrates.
		ok := &sqldb.Migrations{Name: "notes", FS: sqldb.SubFS(fstest.MapFS{"migrations/" + d + "/00001_notes.sql": &sql}, "migrations")}
		if err := db.MigrateUp(context.Background(), ok); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTx_NullTimes(t *testing.T) {
	forEachEngineThings(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// A nil *time.Time and an invalid sql.NullTime are NULL: the
		// column refuses them, which tells they were not a zero time.
		for _, v := range []any{(*time.Time)(nil), sql.NullTime{}} {
			err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO things (name, score, at) VALUES (?, ?, ?)", "n", 1, v)
				return err
			})
			if err == nil {
				t.Errorf("a NULL time %#v in a NOT NULL column was accepted", v)
			}
		}
		nt := sql.NullTime{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Valid: true}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO things (name, score, at) VALUES (?, ?, ?)", "n", 1, nt)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var got sql.NullTime
		err = db.Read(ctx, func(q sqldb.Querier) error {
			return q.QueryRowContext(ctx, "SELECT at FROM things WHERE at = ?", nt.Time).Scan(&got)
		})
		if err != nil || !got.Valid || got.Time != nt.Time {
			t.Fatalf("scanned %v, %v; want %v", got, err, nt.Time)
		}
		if errors.Is(err, sql.ErrNoRows) {
			t.Fatal("no row")
		}
	})
}
