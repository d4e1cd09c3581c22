package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// TestUserList_FilterByProfileCity filters the user list by the indexed
// profile field, pages it, refuses other fields naming the allowed one,
// and reads each engine's plan: the index users_profile_city is used.
func TestUserList_FilterByProfileCity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := store.NewUsers(db)
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for i := range 2000 {
				_, err := tx.ExecContext(ctx, "INSERT INTO users (email, username, password_hash, profile) VALUES (?, ?, 'x', ?)",
					fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("u%d", i), fmt.Sprintf(`{"city":"city%d","n":%d}`, i%100, i))
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		analyze(t, db, "users")
		filter := kura.Filter{Field: "profile.city", Value: "city7"}
		var seen []int64
		opt := kura.ListOptions{Limit: 8, Filter: filter}
		for {
			p, err := s.ListUsers(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Items {
				if !strings.Contains(string(u.Profile), `"city7"`) {
					t.Fatalf("filtered list holds %s", u.Profile)
				}
				seen = append(seen, u.ID)
			}
			if p.NextCursor == "" {
				break
			}
			opt.Cursor = p.NextCursor
		}
		if len(seen) != 20 || seen[0] <= seen[19] {
			t.Fatalf("filtered keyset pages: %v", seen)
		}
		p, err := s.ListUsers(ctx, kura.ListOptions{Page: 2, PerPage: 15, Filter: filter})
		if err != nil || p.Total != 20 || len(p.Items) != 5 {
			t.Fatalf("filtered offset page: %+v, %v", p, err)
		}
		_, err = s.ListUsers(ctx, kura.ListOptions{Filter: kura.Filter{Field: "profile.bio", Value: "x"}})
		wantCode(t, err, kura.EBADREQUEST)
		if msg := kura.ErrorFields(err)["profile.bio"]; !strings.Contains(msg, "profile.city") {
			t.Fatalf("unknown filter: fields %v; want profile.bio naming profile.city", kura.ErrorFields(err))
		}

		for _, st := range store.Statements(db.Dialect()) {
			if !strings.HasPrefix(st.Name, "users.list_by_city") {
				continue
			}
			args := []any{"city7", int64(1 << 40), 21}
			switch st.Name {
			case "users.list_by_city":
				args = []any{"city7", 21}
			case "users.list_by_city_count":
				args = args[:1]
			}
			plan, err := db.Explain(ctx, st.Query, args...)
			if err != nil {
				t.Fatalf("%s: %v", st.Name, err)
			}
			t.Logf("%s on %s:\n%s", st.Name, db.Dialect(), plan)
			if !strings.Contains(plan, "users_profile_city") {
				t.Errorf("%s does not use users_profile_city:\n%s", st.Name, plan)
			}
		}
	})
}

// TestUserProfile_MigrationIsThePattern holds migration 00010's index
// statements to what sqldb.JSONField.IndexDDL writes for the field the
// list filters by.
func TestUserProfile_MigrationIsThePattern(t *testing.T) {
	f := sqldb.JSONField{Column: "profile", Path: []string{"city"}, Generated: "profile_city", MaxLen: kura.MaxProfileCity}
	for _, d := range dbtest.Engines {
		b, err := os.ReadFile("migrations/" + string(d) + "/00010_user_profile.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range f.IndexDDL(d, "users", "users_profile_city") {
			if !strings.Contains(string(b), stmt+";") {
				t.Errorf("%s's migration lacks %s", d, stmt)
			}
		}
	}
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

// TestUsers_ProfilePatch holds the store to its share of a profile: the
// limits of any document it keeps, whatever the caller, and the caller's
// check of the merged document, whose error changes nothing; what the
// fields mean is the caller's (accounts passes kura.CheckProfile).
func TestUsers_ProfilePatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := store.NewUsers(db)
		u := MustCreateUser(t, db, "ann@example.com", "ann")
		got, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Profile: []byte(`{"avatar_url":"ftp://a.example/x","n":1}`)})
		if err != nil || !strings.Contains(string(got.Profile), "ftp://") || got.ETag() == u.ETag() {
			t.Fatalf("patch without a check = %+v, %v", got, err)
		}
		_, err = s.UpdateUser(ctx, u.ID, store.UserUpdate{Profile: []byte(`{"a":{"b":{"c":{"d":{"e":1}}}}}`)})
		wantCode(t, err, kura.EINVALID)
		refused := kura.FieldError(kura.EINVALID, "profile.n", "must be 1")
		var seen any
		_, err = s.UpdateUser(ctx, u.ID, store.UserUpdate{Profile: []byte(`{"n":2}`),
			CheckProfile: func(doc any) error { seen = doc; return refused }})
		if !errors.Is(err, refused) {
			t.Fatalf("patch the check refuses: %v; want %v", err, refused)
		}
		if m, _ := seen.(map[string]any); m["avatar_url"] != "ftp://a.example/x" {
			t.Fatalf("the check saw %v; want the merged document", seen)
		}
		if now, _ := s.FindUserByID(ctx, u.ID); now.ETag() != got.ETag() || string(now.Profile) != string(got.Profile) {
			t.Fatalf("a refused patch changed the user: %s", now.Profile)
		}
	})
}
