package notes_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/examples/notes"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// fixture is a migrated database of one engine with two users, a notes
// store and a jobs client that only enqueues.
type fixture struct {
	db        *sqldb.DB
	store     *notes.Store
	jobs      *jobs.Client
	ann, bob  *kura.User
	annCtx    context.Context
	bobCtx    context.Context
	strangers context.Context
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := db.MigrateUp(ctx, notes.Sets...); err != nil { // kura's sets as the app applies them (dbtest applied most), then the notes'
		t.Fatal(err)
	}
	jc, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, jobs: jc, store: notes.NewStore(db, jc)}
	users := accounts.NewUserService(db)
	var mk = func(name string) *kura.User {
		u, err := users.CreateUser(ctx, kura.NewUser{Email: name + "@example.com", Username: name, Password: "a long passphrase"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.ann, f.bob = mk("ann"), mk("bob")
	cat := mk("cat")
	f.annCtx = kura.NewContextWithUser(ctx, f.ann)
	f.bobCtx = kura.NewContextWithUser(ctx, f.bob)
	f.strangers = kura.NewContextWithUser(ctx, cat)
	return f
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) mustCreate(t *testing.T, title string, tags ...string) *notes.Note {
	t.Helper()
	n, err := f.store.CreateNote(f.annCtx, notes.NoteInput{Title: ptr(title), Body: ptr("body of " + title), Tags: &tags})
	if err != nil {
		t.Fatalf("create %q: %v", title, err)
	}
	return n
}

func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if kura.ErrorCode(err) != code {
		t.Fatalf("error = %v (code %q); want code %q", err, kura.ErrorCode(err), code)
	}
}

func TestStore_CreateNote(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		t.Run("OK", func(t *testing.T) {
			n := f.mustCreate(t, "  Groceries ", "Food", "food", "home")
			if n.ID == 0 || n.Title != "Groceries" || fmt.Sprint(n.Tags) != "[food home]" || n.CreatedAt.IsZero() {
				t.Fatalf("note = %+v", n)
			}
			got, err := f.store.Note(f.annCtx, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != n.Title || got.Body != n.Body || fmt.Sprint(got.Tags) != "[food home]" || !got.CreatedAt.Equal(n.CreatedAt) {
				t.Fatalf("read back %+v; created %+v", got, n)
			}
		})
		t.Run("ErrTitleTaken", func(t *testing.T) {
			_, err := f.store.CreateNote(f.annCtx, notes.NoteInput{Title: ptr("Groceries")})
			mustCode(t, err, kura.ECONFLICT)
			if kura.ErrorFields(err)["title"] == "" {
				t.Fatalf("conflict does not name the title: %v", kura.ErrorFields(err))
			}
			// Another user may use the same title; case matters on every engine.
			if _, err := f.store.CreateNote(f.bobCtx, notes.NoteInput{Title: ptr("Groceries")}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.CreateNote(f.annCtx, notes.NoteInput{Title: ptr("groceries")}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := f.store.CreateNote(f.annCtx, notes.NoteInput{Title: ptr(" "), Tags: &[]string{"no spaces"}})
			mustCode(t, err, kura.EINVALID)
			if fs := kura.ErrorFields(err); fs["title"] == "" || fs["tags"] == "" {
				t.Fatalf("fields = %v", fs)
			}
			_, err = f.store.CreateNote(context.Background(), notes.NoteInput{Title: ptr("x")})
			mustCode(t, err, kura.EUNAUTHORIZED)
		})
	})
}

func TestStore_UpdateDelete(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		n := f.mustCreate(t, "Plan", "work")
		f.mustCreate(t, "Other")
		if err := f.store.ShareNote(f.annCtx, n.ID, f.bob.ID); err != nil {
			t.Fatal(err)
		}
		t.Run("OK", func(t *testing.T) {
			got, err := f.store.UpdateNote(f.annCtx, n.ID, notes.NoteInput{Body: ptr("new body"), Tags: &[]string{"a", "b"}})
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != "Plan" || got.Body != "new body" || fmt.Sprint(got.Tags) != "[a b]" || got.UpdatedAt.Before(n.UpdatedAt) {
				t.Fatalf("updated = %+v", got)
			}
			if fmt.Sprint(got.SharedWith) != fmt.Sprint([]int64{f.bob.ID}) {
				t.Fatalf("shared with %v", got.SharedWith)
			}
		})
		t.Run("ErrTitleTaken", func(t *testing.T) {
			_, err := f.store.UpdateNote(f.annCtx, n.ID, notes.NoteInput{Title: ptr("Other")})
			mustCode(t, err, kura.ECONFLICT)
		})
		t.Run("Forbidden", func(t *testing.T) {
			// bob may read the note, not change it; cat may not know it exists.
			if _, err := f.store.Note(f.bobCtx, n.ID); err != nil {
				t.Fatal(err)
			}
			_, err := f.store.UpdateNote(f.bobCtx, n.ID, notes.NoteInput{Body: ptr("mine now")})
			mustCode(t, err, kura.EFORBIDDEN)
			_, err = f.store.UpdateNote(f.strangers, n.ID, notes.NoteInput{Body: ptr("mine now")})
			mustCode(t, err, kura.ENOTFOUND)
			_, err = f.store.Note(f.strangers, n.ID)
			mustCode(t, err, kura.ENOTFOUND)
			mustCode(t, f.store.DeleteNote(f.bobCtx, n.ID), kura.EFORBIDDEN)
		})
		t.Run("Delete", func(t *testing.T) {
			if err := f.store.DeleteNote(f.annCtx, n.ID); err != nil {
				t.Fatal(err)
			}
			_, err := f.store.Note(f.annCtx, n.ID)
			mustCode(t, err, kura.ENOTFOUND)
			mustCode(t, f.store.DeleteNote(f.annCtx, n.ID), kura.ENOTFOUND)
			counts, err := f.store.TagCounts(f.annCtx)
			if err != nil || len(counts) != 0 {
				t.Fatalf("tags of a deleted note remain: %v %v", counts, err)
			}
		})
	})
}

func TestStore_ListNotes(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		var ids []int64
		for i := range 25 {
			tags := []string{"all"}
			if i%2 == 0 {
				tags = append(tags, "even")
			}
			ids = append(ids, f.mustCreate(t, fmt.Sprintf("note %02d", i), tags...).ID)
		}
		t.Run("Keyset", func(t *testing.T) {
			var seen []int64
			opt := kura.ListOptions{Limit: 10}
			for pages := 0; ; pages++ {
				p, err := f.store.ListNotes(f.annCtx, false, opt)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range p.Items {
					seen = append(seen, n.ID)
					if len(n.Tags) == 0 {
						t.Fatalf("note %d listed without its tags", n.ID)
					}
				}
				if pages == 0 {
					// A note added between two pages lands before the cursor.
					f.mustCreate(t, "late")
				}
				if p.NextCursor == "" {
					break
				}
				opt.Cursor = p.NextCursor
			}
			if len(seen) != 25 {
				t.Fatalf("listed %d notes; want 25 (%v)", len(seen), seen)
			}
			for i, id := range seen {
				if id != ids[24-i] {
					t.Fatalf("position %d has note %d; want %d (newest first)", i, id, ids[24-i])
				}
			}
		})
		t.Run("Offset", func(t *testing.T) {
			p, err := f.store.ListNotes(f.annCtx, false, kura.ListOptions{Page: 2, PerPage: 10})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != 26 || len(p.Items) != 10 {
				t.Fatalf("page 2: total %d, %d items", p.Total, len(p.Items))
			}
		})
		t.Run("OthersSeeNone", func(t *testing.T) {
			p, err := f.store.ListNotes(f.bobCtx, false, kura.ListOptions{})
			if err != nil || len(p.Items) != 0 {
				t.Fatalf("bob lists %d of ann's notes (%v)", len(p.Items), err)
			}
		})
		t.Run("Shared", func(t *testing.T) {
			for _, id := range ids[:3] {
				if err := f.store.ShareNote(f.annCtx, id, f.bob.ID); err != nil {
					t.Fatal(err)
				}
			}
			p, err := f.store.ListNotes(f.bobCtx, true, kura.ListOptions{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Items) != 2 || p.Items[0].ID != ids[2] || p.Items[1].ID != ids[1] || p.NextCursor == "" {
				t.Fatalf("shared page = %+v", p)
			}
		})
		t.Run("TagCounts", func(t *testing.T) {
			counts, err := f.store.TagCounts(f.annCtx)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(counts) != "[{all 25} {even 13}]" {
				t.Fatalf("counts = %v", counts)
			}
		})
	})
}

func TestStore_ShareNote(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		n := f.mustCreate(t, "Trip")
		ctx := context.Background()
		sharedJobs := func() int {
			t.Helper()
			rows, err := f.jobs.List(ctx, jobs.ListOptions{Kinds: []string{notes.SharedArgs{}.Kind()}})
			if err != nil {
				t.Fatal(err)
			}
			return len(rows)
		}
		t.Run("OK", func(t *testing.T) {
			if err := f.store.ShareNote(f.annCtx, n.ID, f.bob.ID); err != nil {
				t.Fatal(err)
			}
			if got := sharedJobs(); got != 1 {
				t.Fatalf("%d notification jobs enqueued; want 1", got)
			}
		})
		t.Run("ErrAlreadyShared", func(t *testing.T) {
			err := f.store.ShareNote(f.annCtx, n.ID, f.bob.ID)
			mustCode(t, err, kura.ECONFLICT)
			if got := sharedJobs(); got != 1 {
				t.Fatalf("a refused share enqueued a job: %d jobs", got)
			}
		})
		t.Run("ErrNoSuchUser", func(t *testing.T) {
			err := f.store.ShareNote(f.annCtx, n.ID, 999999)
			mustCode(t, err, kura.ENOTFOUND)
			if kura.ErrorFields(err)["user_id"] == "" {
				t.Fatalf("fields = %v", kura.ErrorFields(err))
			}
		})
		t.Run("ErrSelf", func(t *testing.T) {
			mustCode(t, f.store.ShareNote(f.annCtx, n.ID, f.ann.ID), kura.EINVALID)
		})
		t.Run("ErrNotOwner", func(t *testing.T) {
			mustCode(t, f.store.ShareNote(f.bobCtx, n.ID, f.ann.ID), kura.EFORBIDDEN)
			mustCode(t, f.store.ShareNote(f.strangers, n.ID, f.bob.ID), kura.ENOTFOUND)
		})
		if got := sharedJobs(); got != 1 {
			t.Fatalf("%d notification jobs after the refused shares; want 1", got)
		}
	})
}

func TestSchema_SetsKeepTheirOwnVersions(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		sets := []*sqldb.Migrations{store.Schema, jobs.Schema, notes.Schema}
		if err := db.MigrateUp(ctx, sets...); err != nil {
			t.Fatal(err)
		}
		applied := func() map[string]int {
			t.Helper()
			st, err := db.MigrationStatus(ctx, sets...)
			if err != nil {
				t.Fatal(err)
			}
			n := map[string]int{}
			for _, s := range st {
				if s.Applied {
					n[s.Set]++
				}
			}
			return n
		}
		before := applied()
		if before["notes"] != 2 || before["jobs"] < 2 || before["kura"] < 3 {
			t.Fatalf("applied per set: %v", before)
		}
		// Rolling the app's set back leaves kura's as it was, though both
		// have a version 1.
		for range 2 { // one version at a time: the metadata, then the tables
			if err := db.MigrateDown(ctx, notes.Schema); err != nil {
				t.Fatal(err)
			}
		}
		after := applied()
		if after["notes"] != 0 || after["kura"] != before["kura"] || after["jobs"] != before["jobs"] {
			t.Fatalf("after rolling notes back: %v (before %v)", after, before)
		}
		if err := db.MigrateUp(ctx, sets...); err != nil {
			t.Fatal(err)
		}
		if got := applied(); got["notes"] != 2 {
			t.Fatalf("after migrating up again: %v", got)
		}
	})
}
