package cached_test

import (
	"context"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache/cached"
)

// memAdmin is a kura.AdminService over memUsers that only flips the
// stored user: it ends no session, so that a test sees the cache's own
// refusal of a disabled user.
type memAdmin struct{ users *memUsers }

func (m memAdmin) ChangeAccount(_ context.Context, _ kura.Actor, id int64, c kura.AccountChange) (*kura.User, error) {
	m.users.mu.Lock()
	defer m.users.mu.Unlock()
	u := m.users.users[id]
	if c.Disabled != nil {
		u.Disabled = *c.Disabled
	}
	if c.Role != nil {
		u.Role = *c.Role
	}
	m.users.users[id] = u
	return &u, nil
}

func (m memAdmin) DeleteAccount(ctx context.Context, _ kura.Actor, id int64, _ kura.Precondition) error {
	return m.users.DeleteUser(ctx, id)
}

func (m memAdmin) EndSessions(context.Context, kura.Actor, int64) (int, error) { return 0, nil }

func (m memAdmin) ListAudit(context.Context, kura.ListOptions) (*kura.AuditList, error) {
	return &kura.AuditList{}, nil
}

// TestAdminService_InvalidatesUser: after an admin's change through the
// cached AdminService, the cached user is read afresh: a demoted user is
// a user at once, and a disabled user's cached session is refused even
// while the store still has it; a deleted user's too.
func TestAdminService_InvalidatesUser(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t)
	admin := cached.NewAdminService(memAdmin{f.users}, f.userC, nil)
	token := f.store.start(f.user.ID, f.now.Add(time.Hour))
	MustAuth(t, f.cached, token, "ann")

	r := kura.RoleAdmin
	if _, err := admin.ChangeAccount(ctx, kura.OperatorActor("t"), f.user.ID, kura.AccountChange{Role: &r}); err != nil {
		t.Fatal(err)
	}
	if s, err := f.cached.Authenticate(ctx, token); err != nil || s.User.Role != kura.RoleAdmin {
		t.Fatalf("after promote: %+v, %v; want an admin", s, err)
	}
	off := true
	if _, err := admin.ChangeAccount(ctx, kura.OperatorActor("t"), f.user.ID, kura.AccountChange{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	MustNotAuth(t, f.cached, token)

	g := newSessionFixture(t)
	admin = cached.NewAdminService(memAdmin{g.users}, g.userC, nil)
	token = g.store.start(g.user.ID, g.now.Add(time.Hour))
	MustAuth(t, g.cached, token, "ann")
	if err := admin.DeleteAccount(ctx, kura.OperatorActor("t"), g.user.ID, kura.Precondition{}); err != nil {
		t.Fatal(err)
	}
	MustNotAuth(t, g.cached, token)
}
