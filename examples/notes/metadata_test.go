package notes_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/examples/notes"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/sqldb"
)

// TestStore_Metadata stores a note's metadata through sqldb's document
// toolkit on every engine: created as given (canonical), merged by PATCH
// as RFC 7396 says, concurrent patches of different members all kept,
// and bad documents refused without a change.
func TestStore_Metadata(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		n, err := f.store.CreateNote(f.annCtx, notes.NoteInput{Title: ptr("Trip"),
			Metadata: []byte(`{"colour": "blue", "source": {"url": "https://x.example", "page": 1.50}}`)})
		if err != nil {
			t.Fatal(err)
		}
		canon := func(j sqldb.JSON) string {
			c, err := sqldb.CanonicalJSON(j)
			if err != nil {
				t.Fatalf("%s: %v", j, err)
			}
			return string(c)
		}
		if got := canon(n.Metadata); got != `{"colour":"blue","source":{"page":1.5,"url":"https://x.example"}}` {
			t.Fatalf("created metadata = %s", got)
		}
		if plain := f.mustCreate(t, "Plain"); canon(plain.Metadata) != "{}" {
			t.Fatalf("a note without metadata has %s", plain.Metadata)
		}
		_, err = f.store.UpdateNote(f.annCtx, n.ID, notes.NoteInput{Metadata: []byte(`{"colour":null,"source":{"page":2},"due":"2030-01-01"}`)})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				if _, err := f.store.UpdateNote(f.annCtx, n.ID, notes.NoteInput{Metadata: fmt.Appendf(nil, `{"k%d":%d}`, i, i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := f.store.Note(f.annCtx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"due":"2030-01-01","k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"source":{"page":2,"url":"https://x.example"}}`
		if canon(got.Metadata) != want {
			t.Fatalf("metadata = %s; want %s", canon(got.Metadata), want)
		}
		for _, bad := range []string{`[1]`, `"x"`, `{"deep":{"a":{"b":{"c":1}}}}`, `{"s":"` + strings.Repeat("x", 501) + `"}`, `{"nul":"\u0000"}`} {
			_, err := f.store.UpdateNote(f.annCtx, n.ID, notes.NoteInput{Metadata: []byte(bad)})
			mustCode(t, err, kura.EINVALID)
			if kura.ErrorFields(err)["metadata"] == "" {
				t.Fatalf("%s: fields %v; want metadata", bad, kura.ErrorFields(err))
			}
		}
		if again, _ := f.store.Note(f.annCtx, n.ID); canon(again.Metadata) != want || !again.UpdatedAt.Equal(got.UpdatedAt) {
			t.Fatalf("refused patches changed the note: %s", again.Metadata)
		}
	})
}
