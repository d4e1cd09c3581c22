package cached_test

import (
	"context"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/internal/testenv"
)

// MustFind calls FindUserByID and fails the test unless it returns a user
// with the given username.
func MustFind(tb testing.TB, s kura.UserService, id int64, username string) {
	tb.Helper()
	u, err := s.FindUserByID(context.Background(), id)
	if err != nil || u.Username != username {
		tb.Fatalf("FindUserByID(%d) = %+v, %v; want %q", id, u, err, username)
	}
}

func TestUserService_FindUserByID(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		store := newMemUsers()
		s := cached.NewUserService(store, MustNewCache[kura.User](t, cache.Config{}), nil)
		u, _ := store.CreateUser(context.Background(), kura.NewUser{Username: "ann"})
		MustFind(t, s, u.ID, "ann")
		MustFind(t, s, u.ID, "ann")
		if n := store.finds.Load(); n != 1 {
			t.Fatalf("store reads = %d, want 1", n)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		store := newMemUsers()
		s := cached.NewUserService(store, MustNewCache[kura.User](t, cache.Config{}), nil)
		for range 2 {
			if _, err := s.FindUserByID(context.Background(), 7); kura.ErrorCode(err) != kura.ENOTFOUND {
				t.Fatalf("err = %v, want not_found", err)
			}
		}
		if n := store.finds.Load(); n != 1 {
			t.Fatalf("store reads = %d, want 1 (a missing user is remembered)", n)
		}
	})
}

func TestUserService_Writes(t *testing.T) {
	ctx := context.Background()
	store := newMemUsers()
	s := cached.NewUserService(store, MustNewCache[kura.User](t, cache.Config{}), nil)

	if _, err := s.FindUserByID(ctx, 1); kura.ErrorCode(err) != kura.ENOTFOUND {
		t.Fatalf("err = %v, want not_found", err)
	}
	u, err := s.CreateUser(ctx, kura.NewUser{Username: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	MustFind(t, s, u.ID, "ann") // the remembered "not found" is gone

	name := "bea"
	if _, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: &name}); err != nil {
		t.Fatal(err)
	}
	MustFind(t, s, u.ID, "bea")

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindUserByID(ctx, u.ID); kura.ErrorCode(err) != kura.ENOTFOUND {
		t.Fatalf("FindUserByID after DeleteUser: err = %v, want not_found", err)
	}
	if list, err := s.ListUsers(ctx, kura.ListOptions{}); err != nil || len(list.Items) != 0 {
		t.Fatalf("ListUsers = %+v, %v", list, err)
	}
}

// TestUserService_OtherInstance writes through one instance and reads
// through another sharing a Redis: the read straight after the write sees
// it.
func TestUserService_OtherInstance(t *testing.T) {
	ctx := context.Background()
	cfg := cache.Config{RedisURL: testenv.RedisURL(t), Prefix: "kuratest:" + testenv.RandomSuffix() + ":user:"}
	store := newMemUsers()
	a := cached.NewUserService(store, MustNewCacheUp[kura.User](t, cfg), nil)
	b := cached.NewUserService(store, MustNewCacheUp[kura.User](t, cfg), nil)
	u, _ := a.CreateUser(ctx, kura.NewUser{Username: "ann"})
	MustFind(t, a, u.ID, "ann")
	MustFind(t, b, u.ID, "ann")
	for _, name := range []string{"bea", "cid", "dee"} {
		if _, err := a.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: &name}); err != nil {
			t.Fatal(err)
		}
		MustFind(t, b, u.ID, name)
	}
}

// MustNewCacheUp returns a cache with a Redis tier once it is connected.
func MustNewCacheUp[V any](tb testing.TB, cfg cache.Config) *cache.Cache[V] {
	tb.Helper()
	c := MustNewCache[V](tb, cfg)
	testenv.Wait(tb, 0, "the Redis tier to come up", c.Healthy)
	return c
}
