package cached_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

// memUsers is an in-memory kura.UserService standing in for the store; it
// counts the reads that reach it.
type memUsers struct {
	mu     sync.Mutex
	users  map[int64]kura.User
	nextID int64
	finds  atomic.Int64
}

var _ kura.UserService = (*memUsers)(nil)

func newMemUsers() *memUsers { return &memUsers{users: map[int64]kura.User{}} }

func (m *memUsers) CreateUser(_ context.Context, in kura.NewUser) (*kura.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	u := kura.User{ID: m.nextID, Email: in.Email, Username: in.Username, Role: kura.RoleUser}
	m.users[u.ID] = u
	return &u, nil
}

func (m *memUsers) FindUserByID(_ context.Context, id int64) (*kura.User, error) {
	m.finds.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	return &u, nil
}

func (m *memUsers) UpdateUser(_ context.Context, id int64, upd kura.UserUpdate) (*kura.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	if upd.Email != nil {
		u.Email = *upd.Email
	}
	if upd.Username != nil {
		u.Username = *upd.Username
	}
	m.users[id] = u
	return &u, nil
}

func (m *memUsers) DeleteUser(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[id]; !ok {
		return kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	delete(m.users, id)
	return nil
}

func (m *memUsers) ListUsers(context.Context, kura.ListOptions) (*kura.UserList, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := &kura.UserList{}
	for _, u := range m.users {
		list.Items = append(list.Items, &u)
	}
	slices.SortFunc(list.Items, func(a, b *kura.User) int { return int(b.ID - a.ID) })
	return list, nil
}

// memSessions is an in-memory kura.SessionService whose Login takes a user
// id as the login; it counts the authentications that reach it.
type memSessions struct {
	users   kura.UserService
	mu      sync.Mutex
	byToken map[string]kura.Session
	auths   atomic.Int64
}

var _ kura.SessionService = (*memSessions)(nil)

func newMemSessions(users kura.UserService) *memSessions {
	return &memSessions{users: users, byToken: map[string]kura.Session{}}
}

// start starts a session of user id ending at expires and returns its token.
func (m *memSessions) start(id int64, expires time.Time) string {
	token := base64.RawURLEncoding.EncodeToString([]byte(rand.Text()[:26] + "012345"))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byToken[token] = kura.Session{ID: int64(len(m.byToken) + 1), UserID: id, ExpiresAt: expires}
	return token
}

// end ends the session behind token in the store only, as a password
// change does, and returns its digest.
func (m *memSessions) end(token string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byToken, token)
	d, _ := kura.TokenDigest(token)
	return d
}

func (m *memSessions) Login(context.Context, string, string) (*kura.Session, error) {
	return nil, kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
}

func (m *memSessions) Authenticate(ctx context.Context, token string) (*kura.Session, error) {
	m.auths.Add(1)
	m.mu.Lock()
	s, ok := m.byToken[token]
	m.mu.Unlock()
	if !ok {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	u, err := m.users.FindUserByID(ctx, s.UserID)
	if err != nil {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	s.User = u
	return &s, nil
}

func (m *memSessions) Logout(_ context.Context, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byToken[token]; !ok {
		return kura.Errorf(kura.EUNAUTHORIZED, kura.InvalidSessionMessage)
	}
	delete(m.byToken, token)
	return nil
}

// MustNewCache returns an in-process cache of V closed when the test ends.
func MustNewCache[V any](tb testing.TB, cfg cache.Config) *cache.Cache[V] {
	tb.Helper()
	c, err := cache.New[V](cfg, nil)
	if err != nil {
		tb.Fatalf("cache.New: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}
