package cached_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// TestUserService_ProfileAndETag runs two instances, each with its own
// cache over one Redis, on one database of each engine: a cached user
// carries the store's ETag and profile, a profile patch through one
// instance is seen with its new tag by the other at once, and a write
// with the tag the other still held before is refused by the row.
func TestUserService_ProfileAndETag(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		cfg := cache.Config{RedisURL: testenv.RedisURL(t), Prefix: "kuratest:" + testenv.RandomSuffix() + ":user:"}
		users := accounts.NewUserService(db)
		a := cached.NewUserService(users, MustNewCacheUp[kura.User](t, cfg), nil)
		b := cached.NewUserService(users, MustNewCacheUp[kura.User](t, cfg), nil)
		u, err := a.CreateUser(ctx, kura.NewUser{Email: "ann@example.com", Username: "ann", Password: "password-1"})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a load, then a hit
			for _, s := range []kura.UserService{a, b} {
				got, err := s.FindUserByID(ctx, u.ID)
				if err != nil || got.ETag() != u.ETag() || string(got.Profile) != string(u.Profile) {
					t.Fatalf("cached user %+v (tag %s), %v; want tag %s", got, got.ETag(), err, u.ETag())
				}
			}
		}
		old := kura.Precondition{Tags: []string{u.ETag()}}
		patched, err := a.UpdateUser(ctx, u.ID, kura.UserUpdate{Profile: []byte(`{"city":"Oslo"}`), If: old})
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.FindUserByID(ctx, u.ID)
		if err != nil || got.ETag() != patched.ETag() || !strings.Contains(string(got.Profile), "Oslo") {
			t.Fatalf("other instance after the patch: %s %s, %v; want %s", got.ETag(), got.Profile, err, patched.ETag())
		}
		_, err = b.UpdateUser(ctx, u.ID, kura.UserUpdate{Profile: []byte(`{"city":"Rome"}`), If: old})
		if kura.ErrorCode(err) != kura.EPRECONDITION {
			t.Fatalf("stale patch: %v; want precondition_failed", err)
		}
		if err := b.DeleteUserIf(ctx, u.ID, old); kura.ErrorCode(err) != kura.EPRECONDITION {
			t.Fatalf("stale delete: %v; want precondition_failed", err)
		}
		if err := b.DeleteUserIf(ctx, u.ID, kura.Precondition{Tags: []string{got.ETag()}}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.FindUserByID(ctx, u.ID); kura.ErrorCode(err) != kura.ENOTFOUND {
			t.Fatalf("after the delete: %v; want not_found", err)
		}
	})
}
