package httpapi_test

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/kura-dev/kura"
)

var _ kura.AdminService = (*fakeStore)(nil)

// ChangeAccount follows kura.AdminService: validation, the last active
// admin kept, sessions ended on disable, one audit entry per change.
func (f *fakeStore) ChangeAccount(ctx context.Context, by kura.Actor, id int64, c kura.AccountChange) (*kura.User, error) {
	if c.Empty() {
		return nil, kura.Errorf(kura.EINVALID, "Give role or disabled.")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return nil, kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	removes := c.Role != nil && *c.Role != kura.RoleAdmin || c.Disabled != nil && *c.Disabled
	if removes && f.lastAdmin(id) {
		return nil, kura.ErrLastAdmin()
	}
	if c.Role != nil && *c.Role != u.Role {
		f.record(by, kura.AuditRoleChange, id, map[string]any{"from": u.Role, "to": *c.Role})
		u.Role = *c.Role
	}
	if c.Disabled != nil && *c.Disabled != u.Disabled {
		u.Disabled = *c.Disabled
		if u.Disabled {
			f.endSessions(id, "")
			f.record(by, kura.AuditDisable, id, map[string]any{})
		} else {
			f.record(by, kura.AuditEnable, id, map[string]any{})
		}
	}
	c2 := u.User
	return &c2, nil
}

// lastAdmin reports whether id is the one active admin.
func (f *fakeStore) lastAdmin(id int64) bool {
	u := f.users[id]
	if u.Role != kura.RoleAdmin || u.Disabled {
		return false
	}
	for _, o := range f.users {
		if o.ID != id && o.Role == kura.RoleAdmin && !o.Disabled {
			return false
		}
	}
	return true
}

func (f *fakeStore) record(by kura.Actor, action string, target int64, detail map[string]any) {
	d, _ := json.Marshal(detail)
	f.audit = append(f.audit, &kura.AuditEntry{ID: int64(len(f.audit) + 1), At: f.tick(), ActorID: by.UserID, Actor: by.Name,
		Action: action, TargetID: target, Detail: string(d)})
}

func (f *fakeStore) DeleteAccount(ctx context.Context, by kura.Actor, id int64, p kura.Precondition) error {
	f.mu.Lock()
	u, ok := f.users[id]
	if ok {
		if err := p.Check(&u.User); err != nil {
			f.mu.Unlock()
			return err
		}
	}
	if ok && f.lastAdmin(id) {
		f.mu.Unlock()
		return kura.ErrLastAdmin()
	}
	if ok {
		f.record(by, kura.AuditDelete, id, map[string]any{"username": u.Username})
	}
	f.mu.Unlock()
	return f.DeleteUser(ctx, id)
}

func (f *fakeStore) EndSessions(ctx context.Context, by kura.Actor, id int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[id]; !ok {
		return 0, kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	n := len(f.sessions)
	f.endSessions(id, "")
	n -= len(f.sessions)
	f.record(by, kura.AuditEndSessions, id, map[string]any{"sessions_ended": n})
	return n, nil
}

func (f *fakeStore) ListAudit(ctx context.Context, opt kura.ListOptions) (*kura.AuditList, error) {
	if err := opt.Normalize(); err != nil {
		return nil, err
	}
	after := int64(1<<63 - 1)
	if opt.Cursor != "" {
		id, err := kura.DecodeCursor(opt.Cursor)
		if err != nil {
			return nil, err
		}
		after = id
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var items []*kura.AuditEntry
	for _, e := range slices.Backward(f.audit) {
		if e.ID < after {
			items = append(items, e)
		}
	}
	list := &kura.AuditList{Items: items}
	if len(items) > opt.Limit {
		list.Items = items[:opt.Limit]
		list.NextCursor = kura.EncodeCursor(list.Items[opt.Limit-1].ID)
	}
	return list, nil
}
