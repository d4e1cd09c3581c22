package notes_test

import (
	"context"
	"testing"

	"github.com/kura-dev/kura/datamove"
	"github.com/kura-dev/kura/examples/notes"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// TestMove: the app's notes, tags and shares move with kura's tables from
// SQLite to PostgreSQL and back, verified; the app works on the copy.
func TestMove(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, dbtest.Open(t, sqldb.SQLite))
	n := f.mustCreate(t, "Grüße", "b-tag", "a-tag")
	f.mustCreate(t, "second")
	if err := f.store.ShareNote(f.annCtx, n.ID, f.bob.ID); err != nil {
		t.Fatal(err)
	}
	pg, err := sqldb.Open(ctx, sqldb.Config{URL: testenv.PostgresDatabaseNamed(t, "kura_datamove_notes_")})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	rep, err := notes.Move(ctx, f.db, pg, datamove.Options{})
	if err != nil || !rep.Match {
		t.Fatalf("move to PostgreSQL: %v, %+v", err, rep)
	}
	rows := map[string]int64{}
	for _, tr := range rep.Tables {
		rows[tr.Table] = tr.TargetRows
	}
	if rows["notes"] != 2 || rows["note_tags"] != 2 || rows["note_shares"] != 1 || rows["users"] != 3 {
		t.Fatalf("rows moved: %v", rows)
	}
	got, err := notes.NewStore(pg, f.jobs).Note(f.bobCtx, n.ID)
	if err != nil || got.Title != "Grüße" || len(got.Tags) != 2 {
		t.Fatalf("the shared note on the copy: %+v, %v", got, err)
	}
	back, err := sqldb.Open(ctx, sqldb.Config{URL: dbtest.URL(t, sqldb.SQLite)})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if rep, err := notes.Move(ctx, pg, back, datamove.Options{}); err != nil || !rep.Match {
		t.Fatalf("move back to SQLite: %v, %+v", err, rep)
	}
}
