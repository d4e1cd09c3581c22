package cached_test

import (
	"context"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/internal/testenv"
)

// sessionFixture is a cached SessionService over in-memory stores, with
// one user and a clock the test moves.
type sessionFixture struct {
	users    *memUsers
	store    *memSessions
	cached   *cached.SessionService
	cachedUs *cached.UserService
	userC    *cache.Cache[kura.User]
	user     *kura.User
	now      time.Time
}

func newSessionFixture(t *testing.T) *sessionFixture {
	f := &sessionFixture{users: newMemUsers(), now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.store = newMemSessions(f.users)
	f.userC = MustNewCache[kura.User](t, cache.Config{})
	f.cachedUs = cached.NewUserService(f.users, f.userC, nil)
	f.cached = cached.NewSessionService(f.store, f.cachedUs, MustNewCache[kura.Session](t, cache.Config{}), nil)
	f.cached.Now = func() time.Time { return f.now }
	f.user, _ = f.users.CreateUser(context.Background(), kura.NewUser{Username: "ann"})
	return f
}

// MustAuth authenticates token and fails the test unless the session's
// user has the given username.
func MustAuth(tb testing.TB, s kura.SessionService, token, username string) {
	tb.Helper()
	sess, err := s.Authenticate(context.Background(), token)
	if err != nil || sess.User == nil || sess.User.Username != username {
		tb.Fatalf("Authenticate = %+v, %v; want a session of %q", sess, err, username)
	}
	if sess.Token != "" {
		tb.Fatal("a cached session carries its token")
	}
}

// MustNotAuth fails the test unless token is refused as invalid.
func MustNotAuth(tb testing.TB, s kura.SessionService, token string) {
	tb.Helper()
	if _, err := s.Authenticate(context.Background(), token); kura.ErrorCode(err) != kura.EUNAUTHORIZED {
		tb.Fatalf("Authenticate: err = %v, want unauthorized", err)
	}
}

func TestSessionService_Authenticate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newSessionFixture(t)
		token := f.store.start(f.user.ID, f.now.Add(time.Hour))
		MustAuth(t, f.cached, token, "ann")
		MustAuth(t, f.cached, token, "ann")
		if n := f.store.auths.Load(); n != 1 {
			t.Fatalf("store authentications = %d, want 1", n)
		}
	})

	t.Run("UserChanged", func(t *testing.T) {
		f := newSessionFixture(t)
		token := f.store.start(f.user.ID, f.now.Add(time.Hour))
		MustAuth(t, f.cached, token, "ann")
		name := "bea"
		if _, err := f.cachedUs.UpdateUser(context.Background(), f.user.ID, kura.UserUpdate{Username: &name}); err != nil {
			t.Fatal(err)
		}
		MustAuth(t, f.cached, token, "bea")
	})

	t.Run("ErrExpired", func(t *testing.T) {
		f := newSessionFixture(t)
		token := f.store.start(f.user.ID, f.now.Add(time.Minute))
		MustAuth(t, f.cached, token, "ann")
		f.now = f.now.Add(time.Minute) // within the cache's TTL
		MustNotAuth(t, f.cached, token)
	})

	t.Run("ErrUserDeleted", func(t *testing.T) {
		f := newSessionFixture(t)
		token := f.store.start(f.user.ID, f.now.Add(time.Hour))
		MustAuth(t, f.cached, token, "ann")
		if err := f.cachedUs.DeleteUser(context.Background(), f.user.ID); err != nil {
			t.Fatal(err)
		}
		MustNotAuth(t, f.cached, token)
	})

	t.Run("ErrNotAToken", func(t *testing.T) {
		f := newSessionFixture(t)
		MustNotAuth(t, f.cached, "not-a-token")
		if n := f.store.auths.Load(); n != 0 {
			t.Fatalf("store authentications = %d, want 0", n)
		}
	})
}

func TestSessionService_Logout(t *testing.T) {
	f := newSessionFixture(t)
	token := f.store.start(f.user.ID, f.now.Add(time.Hour))
	MustAuth(t, f.cached, token, "ann")
	if err := f.cached.Logout(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	MustNotAuth(t, f.cached, token)
}

// TestSessionService_EndSessions ends a session in the store only, as a
// password change does, and hands its digest to EndSessions.
func TestSessionService_EndSessions(t *testing.T) {
	f := newSessionFixture(t)
	token := f.store.start(f.user.ID, f.now.Add(time.Hour))
	other := f.store.start(f.user.ID, f.now.Add(time.Hour))
	MustAuth(t, f.cached, token, "ann")
	MustAuth(t, f.cached, other, "ann")
	digest := f.store.end(token)
	MustAuth(t, f.cached, token, "ann") // still cached: the store has not said
	f.cached.EndSessions(context.Background(), []string{digest})
	MustNotAuth(t, f.cached, token)
	MustAuth(t, f.cached, other, "ann")
	f.cached.EndSessions(context.Background(), nil)
}

// TestSessionService_Untrusted authenticates through caches that cannot
// trust their tiers (their Redis is not running): every call asks the
// store, in its one lookup, so a session the store ended is refused at once.
func TestSessionService_Untrusted(t *testing.T) {
	redis := testenv.NewRedisServer(t) // never started
	cfg := cache.Config{RedisURL: redis.URL(), Strict: true}
	users := newMemUsers()
	store := newMemSessions(users)
	cachedUs := cached.NewUserService(users, MustNewCache[kura.User](t, cfg), nil)
	s := cached.NewSessionService(store, cachedUs, MustNewCache[kura.Session](t, cfg), nil)
	ann, _ := users.CreateUser(context.Background(), kura.NewUser{Username: "ann"})
	token := store.start(ann.ID, time.Now().Add(time.Hour))

	MustAuth(t, s, token, "ann")
	MustAuth(t, s, token, "ann")
	if a, f := store.auths.Load(), users.finds.Load(); a != 2 || f != 2 {
		t.Fatalf("store authentications = %d, user reads = %d; want 2 and 2 (one lookup each)", a, f)
	}
	store.end(token)
	MustNotAuth(t, s, token)
}
