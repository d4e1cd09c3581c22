package sqldb_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

func patchProfile(ctx context.Context, s *sqldb.UserService, id int64, patch string, p kura.Precondition) (*kura.User, error) {
	return s.UpdateUser(ctx, id, kura.UserUpdate{Profile: []byte(patch), If: p})
}

func canon(t *testing.T, b []byte) string {
	t.Helper()
	c, err := sqldb.CanonicalJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return string(c)
}

// TestUserProfile_MergePatch patches a profile as RFC 7396 says, refuses
// bad patches and documents without changing anything, and loses no
// concurrent patch.
func TestUserProfile_MergePatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := sqldb.NewUserService(db)
		u := MustCreateUser(t, db, "ann@example.com", "ann")
		if canon(t, u.Profile) != "{}" {
			t.Fatalf("new user's profile = %s; want {}", u.Profile)
		}
		got, err := patchProfile(ctx, s, u.ID, `{"bio":"hi","city":"Oslo","avatar_url":"https://a.example/me.png","prefs":{"theme":"dark","lang":"en"}}`, kura.Precondition{})
		if err != nil {
			t.Fatal(err)
		}
		got, err = patchProfile(ctx, s, u.ID, `{"bio":null,"prefs":{"lang":"nb"},"links":["http://x.example"]}`, kura.Precondition{})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"avatar_url":"https://a.example/me.png","city":"Oslo","links":["http://x.example"],"prefs":{"lang":"nb","theme":"dark"}}`
		if c := canon(t, got.Profile); c != want {
			t.Fatalf("profile = %s; want %s", c, want)
		}
		if f, _ := s.FindUserByID(ctx, u.ID); canon(t, f.Profile) != want || f.ETag() != got.ETag() {
			t.Fatalf("read back %s %s; want %s %s", f.Profile, f.ETag(), want, got.ETag())
		}

		for patch, field := range map[string]string{
			`[1]`:                                  "profile",
			`"x"`:                                  "profile",
			`{"avatar_url":"ftp://a.example/x"}`:   "profile.avatar_url",
			`{"avatar_url":"javascript:alert(1)"}`: "profile.avatar_url",
			`{"links":["https://ok.example","nope"]}`: "profile.links",
			`{"city":7}`: "profile.city",
			`{"city":"` + strings.Repeat("é", 101) + `"}`:                    "profile.city",
			`{"bio":"` + strings.Repeat("x", kura.MaxProfileString+1) + `"}`: "profile",
			`{"a":{"b":{"c":{"d":{"e":1}}}}}`:                                "profile",
			`{"bad":"\u0000"}`:                                               "profile",
			`{"bad":"\udc00"}`:                                               "profile",
		} {
			_, err := patchProfile(ctx, s, u.ID, patch, kura.Precondition{})
			wantCode(t, err, kura.EINVALID)
			if kura.ErrorFields(err)[field] == "" {
				t.Errorf("patch %.60s: fields %v; want %s named", patch, kura.ErrorFields(err), field)
			}
		}
		var many strings.Builder
		many.WriteString("{")
		for i := range kura.MaxProfileKeys {
			fmt.Fprintf(&many, `"k%d":1,`, i)
		}
		many.WriteString(`"last":1}`)
		_, err = patchProfile(ctx, s, u.ID, many.String(), kura.Precondition{})
		wantCode(t, err, kura.EINVALID)
		if f, _ := s.FindUserByID(ctx, u.ID); canon(t, f.Profile) != want || f.ETag() != got.ETag() {
			t.Fatalf("a refused patch changed the user: %s", f.Profile)
		}

		// A patch that changes nothing writes nothing: the tag stays.
		same, err := patchProfile(ctx, s, u.ID, `{"city":"Oslo"}`, kura.Precondition{})
		if err != nil || same.ETag() != got.ETag() {
			t.Fatalf("no-op patch: %v, tag %s; want %s", err, same.ETag(), got.ETag())
		}

		// Concurrent patches of different members all last.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if _, err := patchProfile(ctx, s, u.ID, fmt.Sprintf(`{"c%d":%d}`, i, i), kura.Precondition{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		f, _ := s.FindUserByID(ctx, u.ID)
		for i := range 8 {
			if !strings.Contains(canon(t, f.Profile), fmt.Sprintf(`"c%d":%d`, i, i)) {
				t.Fatalf("concurrent patch %d lost: %s", i, f.Profile)
			}
		}
	})
}

// TestUserETag_IfMatch holds updates and deletions to their If-Match:
// a stale tag changes nothing, the current one works, from a second
// handle on the same database too (the tag comes from the row).
func TestUserETag_IfMatch(t *testing.T) {
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := MustTestURL(t, d)
			db1 := MustOpenConfig(t, sqldb.Config{URL: url}, true)
			db2 := MustOpenConfig(t, sqldb.Config{URL: url}, false)
			s1, s2 := sqldb.NewUserService(db1), sqldb.NewUserService(db2)
			u := MustCreateUser(t, db1, "bob@example.com", "bob")
			other, _ := s2.FindUserByID(ctx, u.ID)
			if other.ETag() != u.ETag() {
				t.Fatalf("two handles: tags %s and %s", u.ETag(), other.ETag())
			}
			v1 := kura.Precondition{Tags: []string{u.ETag()}}
			name := "bob2"
			u2, err := s1.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: &name, If: v1})
			if err != nil {
				t.Fatal(err)
			}
			if u2.ETag() == u.ETag() {
				t.Fatalf("the tag did not move: %s", u2.ETag())
			}
			// Stale: on the other handle, a username and a profile patch.
			name3 := "bob3"
			_, err = s2.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: &name3, If: v1})
			wantCode(t, err, kura.EPRECONDITION)
			_, err = patchProfile(ctx, s2, u.ID, `{"city":"x"}`, v1)
			wantCode(t, err, kura.EPRECONDITION)
			wantCode(t, s2.DeleteUserIf(ctx, u.ID, v1), kura.EPRECONDITION)
			now, err := s2.FindUserByID(ctx, u.ID)
			if err != nil || now.Username != "bob2" || canon(t, now.Profile) != "{}" || now.ETag() != u2.ETag() {
				t.Fatalf("after stale writes: %+v, %v", now, err)
			}
			// One of several tags, then a deletion with the current tag.
			v2 := kura.Precondition{Tags: []string{`"nope"`, u2.ETag()}}
			u3, err := patchProfile(ctx, s2, u.ID, `{"city":"x"}`, v2)
			if err != nil {
				t.Fatal(err)
			}
			if err := s1.DeleteUserIf(ctx, u.ID, kura.Precondition{Tags: []string{u3.ETag()}}); err != nil {
				t.Fatal(err)
			}
			wantCode(t, s1.DeleteUserIf(ctx, u.ID, kura.Precondition{Tags: []string{u3.ETag()}}), kura.ENOTFOUND)
		})
	}
}

// TestUserList_FilterByProfileCity filters the user list by the indexed
// profile field, pages it, refuses other fields naming the allowed one,
// and reads each engine's plan: the index users_profile_city is used.
func TestUserList_FilterByProfileCity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := sqldb.NewUserService(db)
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

		for _, st := range sqldb.Statements(db.Dialect()) {
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
	for _, d := range engines {
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
