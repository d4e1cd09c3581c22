package sqldb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// docs is an application's table with a document column, as the
// toolkit's documentation says to write it on each engine.
var docs = &sqldb.Migrations{Name: "docs", FS: fstest.MapFS{
	"sqlite/00001_docs.sql": {Data: []byte(`-- +goose Up
CREATE TABLE docs (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(doc)));
-- +goose Down
DROP TABLE docs;
`)},
	"postgres/00001_docs.sql": {Data: []byte(`-- +goose Up
CREATE TABLE docs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc jsonb NOT NULL DEFAULT '{}');
-- +goose Down
DROP TABLE docs;
`)},
	"mysql/00001_docs.sql": {Data: []byte(`-- +goose Up
CREATE TABLE docs (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, doc JSON NOT NULL DEFAULT '{}');
-- +goose Down
DROP TABLE docs;
`)},
}}

var docCity = sqldb.JSONField{Column: "doc", Path: []string{"city"}, Generated: "doc_city", MaxLen: 100}

func forEachEngineDocs(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		if err := db.MigrateUp(context.Background(), store.Schema, docs); err != nil {
			t.Fatal(err)
		}
		fn(t, db)
	})
}

func insertDoc(t *testing.T, db *sqldb.DB, doc string) int64 {
	t.Helper()
	ctx := context.Background()
	j, err := sqldb.CheckJSON([]byte(doc), sqldb.JSONLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err = db.Insert(ctx, tx, "INSERT INTO docs (doc) VALUES (?)", j)
		return err
	})
	if err != nil {
		t.Fatalf("insert %s: %v", doc, err)
	}
	return id
}

func readDoc(t *testing.T, db *sqldb.DB, id int64) sqldb.JSON {
	t.Helper()
	var j sqldb.JSON
	err := db.Read(context.Background(), func(q sqldb.Querier) error {
		return q.QueryRowContext(context.Background(), "SELECT doc FROM docs WHERE id = ?", id).Scan(&j)
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestJSON_RoundTrip writes documents through the toolkit and reads them
// back the same, in canonical form, on every engine, whatever text the
// engine keeps (PostgreSQL's jsonb has its own spacing and key order).
func TestJSON_RoundTrip(t *testing.T) {
	forEachEngineDocs(t, func(t *testing.T, db *sqldb.DB) {
		for _, doc := range []string{
			`{}`,
			`{"city":"Zürich","bio":"Ünïcode ✓ 😀 \u2028 <b>&","n":1e2,"f":1.50,"neg":-0.0,"small":12e-5}`,
			`{"links":["https://a.example","http://b.example"],"prefs":{"theme":{"dark":true},"langs":["en","fr"]},"none":null}`,
			`{"longkey_zz":1,"a":2,"bb":3}`,
		} {
			want, err := sqldb.CanonicalJSON([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			got := readDoc(t, db, insertDoc(t, db, doc))
			canon, err := sqldb.CanonicalJSON(got)
			if err != nil {
				t.Fatalf("read back %s: %v", got, err)
			}
			if string(canon) != string(want) {
				t.Errorf("round trip of %s:\n got %s (stored %s)\nwant %s", doc, canon, got, want)
			}
			if db.Dialect() != sqldb.Postgres && string(got) != string(want) {
				t.Errorf("stored text %s; want the canonical %s", got, want)
			}
		}
	})
}

// TestJSONField_ExprAndIndex reads a field by path on every engine,
// indexes it with IndexDDL and checks that the plan of a newest-first
// filter by it uses the index.
func TestJSONField_ExprAndIndex(t *testing.T) {
	forEachEngineDocs(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, stmt := range docCity.IndexDDL(db.Dialect(), "docs", "docs_city") {
			if _, err := db.Writer().ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for i := range 3000 {
				if _, err := tx.ExecContext(ctx, "INSERT INTO docs (doc) VALUES (?)",
					fmt.Sprintf(`{"city":"c%d","n":%d,"deep":{"x":"v%d"}}`, i%100, i, i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		analyze(t, db, "docs")
		q := "SELECT id FROM docs WHERE " + docCity.Expr(db.Dialect()) + " = ? ORDER BY id DESC LIMIT 20"
		var ids []int64
		err = db.Read(ctx, func(rq sqldb.Querier) error {
			var err error
			ids, err = sqldb.QueryAll(ctx, db, rq, func(s sqldb.Scanner) (int64, error) {
				var id int64
				return id, s.Scan(&id)
			}, q, "c7")
			return err
		})
		if err != nil || len(ids) != 20 || ids[0] != 2908 {
			t.Fatalf("filter: %v, %v", ids, err)
		}
		deep := sqldb.JSONField{Column: "doc", Path: []string{"deep", "x"}}
		var x string
		err = db.Read(ctx, func(rq sqldb.Querier) error {
			return rq.QueryRowContext(ctx, "SELECT "+deep.Expr(db.Dialect())+" FROM docs WHERE id = ?", 5).Scan(&x)
		})
		if err != nil || x != "v4" {
			t.Fatalf("nested path = %q, %v; want v4", x, err)
		}
		plan, err := db.Explain(ctx, q, "c7")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("plan on %s:\n%s", db.Dialect(), plan)
		if !strings.Contains(plan, "docs_city") {
			t.Fatalf("the plan does not use docs_city:\n%s", plan)
		}
	})
}

// analyze refreshes the planner's statistics of table.
func analyze(t *testing.T, db *sqldb.DB, table string) {
	t.Helper()
	stmt := map[sqldb.Dialect]string{sqldb.SQLite: "ANALYZE", sqldb.Postgres: "ANALYZE " + table,
		sqldb.MySQL: "ANALYZE TABLE " + table}[db.Dialect()]
	if _, err := db.Writer().ExecContext(context.Background(), stmt); err != nil {
		t.Fatal(err)
	}
}

// TestPatchJSON_NoLostUpdates runs concurrent merge patches of one row,
// each adding its own key: every key is there at the end.
func TestPatchJSON_NoLostUpdates(t *testing.T) {
	forEachEngineDocs(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		id := insertDoc(t, db, `{"keep":"me"}`)
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, _, err := sqldb.PatchJSON(ctx, tx, sqldb.JSONPatch{Table: "docs", Column: "doc", ID: id, Object: true,
						Patch: fmt.Appendf(nil, `{"k%02d":%d}`, i, i)})
					return err
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, _ := sqldb.CanonicalJSON(readDoc(t, db, id))
		for i := range n {
			if !strings.Contains(string(got), fmt.Sprintf(`"k%02d":%d`, i, i)) {
				t.Fatalf("patch %d lost: %s", i, got)
			}
		}
		// A patch that is not an object, or a result over the limits,
		// changes nothing.
		lim := sqldb.JSONLimits{Field: "doc", MaxKeys: n + 1}
		for _, p := range []string{`[1]`, `"x"`, `{"a":1,"b":2}`, `{"bad":"\u0000"}`} {
			err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				_, _, err := sqldb.PatchJSON(ctx, tx, sqldb.JSONPatch{Table: "docs", Column: "doc", ID: id, Object: true,
					Patch: []byte(p), Limits: lim})
				return err
			})
			wantCode(t, err, kura.EINVALID)
			if after, _ := sqldb.CanonicalJSON(readDoc(t, db, id)); string(after) != string(got) {
				t.Fatalf("refused patch %s changed the document to %s", p, after)
			}
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, _, err := sqldb.PatchJSON(ctx, tx, sqldb.JSONPatch{Table: "docs", Column: "doc", ID: 999999, Patch: []byte(`{}`)})
			return err
		})
		wantCode(t, err, kura.ENOTFOUND)
	})
}

// TestMergePatch_RFC7396 runs the examples of RFC 7396's appendix A.
func TestMergePatch_RFC7396(t *testing.T) {
	for _, c := range [][3]string{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{``, `{"a":1}`, `{"a":1}`},
	} {
		got, err := sqldb.MergePatch([]byte(c[0]), []byte(c[1]), sqldb.JSONLimits{})
		if err != nil || string(got) != c[2] {
			t.Errorf("MergePatch(%s, %s) = %s, %v; want %s", c[0], c[1], got, err, c[2])
		}
	}
}

// TestCheckJSON_Refuses holds each limit and each refused input to an
// EINVALID error naming the field.
func TestCheckJSON_Refuses(t *testing.T) {
	lim := sqldb.JSONLimits{Field: "profile", MaxBytes: 30, MaxDepth: 2, MaxKeys: 3, MaxString: 6, MaxItems: 2}
	for _, in := range []string{
		"{\"a\":\"\xff\"}", `{"a":"\u0000"}`, `{"a":"\ud800"}`, `{"a":"\udc00x"}`, `{"a":"\ud800\u0041"}`,
		`{"a":{"b":{"c":1}}}`, `{"a":1,"b":2,"c":3,"d":4}`, `{"a":"1234567"}`, `{"abcdefg":1}`, `{"a":[1,2,3]}`,
		`{"a":"12345","b":"12345","c":"12345"}`, `{"a":1}{"b":2}`, `{"a":`, `{"a":1e99999}`,
	} {
		_, err := sqldb.CheckJSON([]byte(in), lim)
		wantCode(t, err, kura.EINVALID)
		if f := kura.ErrorFields(err); f["profile"] == "" {
			t.Errorf("CheckJSON(%q): fields %v; want profile named", in, f)
		}
	}
	for _, in := range []string{`{"a":"\ud83d\ude00"}`, `{"a":"\\u0000"}`, `{"a":{"b":1}}`, `{"a":[1,2]}`} {
		if _, err := sqldb.CheckJSON([]byte(in), lim); err != nil {
			t.Errorf("CheckJSON(%q): %v", in, err)
		}
	}
}

func TestCanonicalJSON_Numbers(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0": "0", "-0.0e5": "0", "1.50": "1.5", "15e-1": "1.5", "1e2": "100", "1E+2": "100",
		"0.000120": "0.00012", "12e-5": "0.00012", "-3.25e1": "-32.5", "100": "100", "123.456e1": "1234.56",
		"9007199254740993": "9007199254740993",
	} {
		got, err := sqldb.CanonicalJSON([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("CanonicalJSON(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	got, _ := sqldb.CanonicalJSON([]byte(`{"b": 1, "a": [ "x" , {"d":2, "c":"<&>"} ] }`))
	if want := `{"a":["x",{"c":"<&>","d":2}],"b":1}`; string(got) != want {
		t.Errorf("CanonicalJSON = %s; want %s", got, want)
	}
}
