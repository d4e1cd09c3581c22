package accounts_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func patchProfile(ctx context.Context, s *accounts.UserService, id int64, patch string, p kura.Precondition) (*kura.User, error) {
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

// openTwice opens two handles on one fresh database of the dialect,
// migrated by store.Schema through the first: two instances of a server.
func openTwice(t *testing.T, d sqldb.Dialect) (*sqldb.DB, *sqldb.DB) {
	t.Helper()
	ctx := context.Background()
	url := dbtest.URL(t, d)
	var dbs [2]*sqldb.DB
	for i := range dbs {
		db, err := sqldb.Open(ctx, sqldb.Config{URL: url, Logger: dbtest.Logger(t, slog.LevelWarn)})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	if err := dbs[0].MigrateUp(ctx, store.Schema); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return dbs[0], dbs[1]
}

// TestUserProfile_MergePatch patches a profile as RFC 7396 says, refuses
// bad patches and documents without changing anything, and loses no
// concurrent patch.
func TestUserProfile_MergePatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := accounts.NewUserService(db)
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
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db1, db2 := openTwice(t, d)
			s1, s2 := accounts.NewUserService(db1), accounts.NewUserService(db2)
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
			// Gone: not found whatever the precondition (httpapi answers 404).
			wantCode(t, s1.DeleteUserIf(ctx, u.ID, kura.Precondition{Tags: []string{u3.ETag()}}), kura.ENOTFOUND)
			_, err = patchProfile(ctx, s1, u.ID, `{"city":"y"}`, kura.Precondition{Tags: []string{u3.ETag()}})
			wantCode(t, err, kura.ENOTFOUND)
			_, err = s1.UpdateUser(ctx, u.ID, kura.UserUpdate{If: kura.Precondition{Tags: []string{u3.ETag()}}})
			wantCode(t, err, kura.ENOTFOUND)
		})
	}
}
