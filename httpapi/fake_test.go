package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/emailaddr"
)

// fakeStore is an in-memory kura.UserService, kura.SessionService and
// kura.NotificationService for testing the HTTP mapping. It follows the
// interfaces' documented errors.
type fakeStore struct {
	mu            sync.Mutex
	audit         []*kura.AuditEntry // newest last
	users         map[int64]*fakeUser
	sessions      map[string]*kura.Session
	notifications []*kura.Notification // in insertion order
	nextID        int64
	nextToken     int
	nextNoteID    int64
	now           time.Time

	// findHook, when set, runs at the start of FindUserByID; a non-nil
	// error is returned as FindUserByID's.
	findHook func(ctx context.Context, id int64) error

	// compared counts the passwords Login compared, past the guard.
	compared atomic.Int64
}

type fakeUser struct {
	kura.User
	password string
}

var (
	_ kura.UserService         = (*fakeStore)(nil)
	_ kura.SessionService      = (*fakeStore)(nil)
	_ kura.NotificationService = (*fakeStore)(nil)
)

func newFakeStore() *fakeStore {
	return &fakeStore{
		users:    map[int64]*fakeUser{},
		sessions: map[string]*kura.Session{},
		now:      time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)),
	}
}

func (f *fakeStore) tick() time.Time {
	f.now = f.now.Add(time.Second)
	return f.now
}

func (f *fakeStore) CreateUser(ctx context.Context, in kura.NewUser) (*kura.User, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.clash(0, &in.Email, &in.Username); err != nil {
		return nil, err
	}
	f.nextID++
	now := f.tick()
	u := &fakeUser{User: kura.User{ID: f.nextID, Email: in.Email, Username: in.Username,
		Role: in.Role, CreatedAt: now, UpdatedAt: now}, password: in.Password}
	f.users[u.ID] = u
	c := u.User
	return &c, nil
}

func (f *fakeStore) clash(self int64, email, username *string) error {
	for _, u := range f.users {
		if u.ID == self {
			continue
		}
		if email != nil && strings.EqualFold(u.Email, *email) {
			return kura.FieldError(kura.ECONFLICT, "email", "is already taken")
		}
		if username != nil && strings.EqualFold(u.Username, *username) {
			return kura.FieldError(kura.ECONFLICT, "username", "is already taken")
		}
	}
	return nil
}

func (f *fakeStore) FindUserByID(ctx context.Context, id int64) (*kura.User, error) {
	if f.findHook != nil {
		if err := f.findHook(ctx, id); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return nil, kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	c := u.User
	return &c, nil
}

func (f *fakeStore) UpdateUser(ctx context.Context, id int64, upd kura.UserUpdate) (*kura.User, error) {
	upd.Normalize()
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return nil, kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	if err := upd.If.Check(&u.User); err != nil {
		return nil, err
	}
	if pw := upd.CurrentPassword; pw != nil {
		if *pw == "" {
			return nil, kura.ErrWrongCurrentPassword(true)
		}
		stored := u.password
		f.mu.Unlock() // the guard may wait
		err := kura.GuardPasswordCheck(ctx, kura.UserAccount(id))
		f.mu.Lock()
		if err != nil {
			return nil, err
		}
		if u, ok = f.users[id]; !ok {
			return nil, kura.Errorf(kura.ENOTFOUND, "User not found.")
		}
		if *pw != stored {
			return nil, kura.ErrWrongCurrentPassword(false)
		}
	}
	if err := f.clash(id, upd.Email, upd.Username); err != nil {
		return nil, err
	}
	if upd.Email != nil {
		u.Email = *upd.Email
	}
	if upd.Username != nil {
		u.Username = *upd.Username
	}
	if upd.Password != nil {
		u.password = *upd.Password
		f.endSessions(id, upd.KeepSession)
	}
	if upd.Profile != nil { // replaced, not merged: the stores' suites test the merge
		if len(upd.Profile) == 0 || upd.Profile[0] != '{' {
			return nil, kura.FieldError(kura.EINVALID, "profile", "must be a JSON object")
		}
		u.Profile = append(json.RawMessage(nil), upd.Profile...)
	}
	u.UpdatedAt = f.tick()
	c := u.User
	return &c, nil
}

// endSessions ends the user's sessions but the one whose digest (the hex
// SHA-256 of the token, as httpapi makes it for tokens not kura's) is keep.
func (f *fakeStore) endSessions(userID int64, keep string) {
	for tok, s := range f.sessions {
		h := sha256.Sum256([]byte(tok))
		if s.UserID == userID && hex.EncodeToString(h[:]) != keep {
			delete(f.sessions, tok)
		}
	}
}

func (f *fakeStore) DeleteUser(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[id]; !ok {
		return kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	delete(f.users, id)
	f.endSessions(id, "")
	f.notifications = slices.DeleteFunc(f.notifications, func(n *kura.Notification) bool { return n.UserID == id })
	return nil
}

func (f *fakeStore) ListUsers(ctx context.Context, opt kura.ListOptions) (*kura.UserList, error) {
	if err := opt.Normalize(); err != nil {
		return nil, err
	}
	if opt.Filter.Field != "" && opt.Filter.Field != "profile.city" {
		return nil, kura.FieldError(kura.EBADREQUEST, opt.Filter.Field, "cannot be filtered by; filter by one of: profile.city")
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
	var all []*kura.User
	for _, u := range f.users {
		c := u.User
		all = append(all, &c)
	}
	slices.SortFunc(all, func(a, b *kura.User) int { return int(b.ID - a.ID) })
	if opt.Page > 0 {
		lo := min((opt.Page-1)*opt.PerPage, len(all))
		hi := min(lo+opt.PerPage, len(all))
		return &kura.UserList{Items: all[lo:hi], Page: opt.Page, PerPage: opt.PerPage, Total: int64(len(all))}, nil
	}
	var items []*kura.User
	for _, u := range all {
		if u.ID < after {
			items = append(items, u)
		}
	}
	list := &kura.UserList{Items: items}
	if len(items) > opt.Limit {
		list.Items = items[:opt.Limit]
		list.NextCursor = kura.EncodeCursor(list.Items[opt.Limit-1].ID)
	}
	return list, nil
}

// Login resolves the login as the engines do (an email in emailaddr's
// canonical form, a username case-insensitively) and calls the password
// guard before comparing, with the user's account or the unknown login's.
func (f *fakeStore) Login(ctx context.Context, login, password string) (*kura.Session, error) {
	login = strings.TrimSpace(login)
	form := strings.ToLower(login)
	if strings.Contains(login, "@") {
		form, _ = emailaddr.Canonical(login)
	}
	f.mu.Lock()
	var found *fakeUser
	for _, u := range f.users {
		if u.Email == form || strings.EqualFold(u.Username, login) {
			found = u
		}
	}
	account := kura.UnknownAccount(form)
	if found != nil {
		account = kura.UserAccount(found.ID)
	}
	f.mu.Unlock()
	if err := kura.GuardPasswordCheck(ctx, account); err != nil {
		return nil, err
	}
	f.compared.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if found != nil && found.password == password && !found.Disabled {
		f.nextToken++
		c := found.User
		s := &kura.Session{ID: int64(f.nextToken), UserID: found.ID, User: &c,
			Token: "tok-" + strconv.Itoa(f.nextToken) + "-secretvalue", CreatedAt: f.now,
			ExpiresAt: f.now.Add(kura.DefaultSessionTTL)}
		f.sessions[s.Token] = s
		return s, nil
	}
	if strings.Contains(login, "@") {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, "No such email.") // the HTTP layer must hide this
	}
	return nil, kura.Errorf(kura.EUNAUTHORIZED, "Wrong password.")
}

func (f *fakeStore) Authenticate(ctx context.Context, token string) (*kura.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[token]
	if !ok {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, "Invalid or expired session.")
	}
	u, ok := f.users[s.UserID]
	if !ok || u.Disabled {
		return nil, kura.Errorf(kura.EUNAUTHORIZED, "Invalid or expired session.")
	}
	c := *s
	uc := u.User
	c.User = &uc
	c.Token = ""
	return &c, nil
}

func (f *fakeStore) Logout(ctx context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sessions[token]; !ok {
		return kura.Errorf(kura.EUNAUTHORIZED, "Invalid or expired session.")
	}
	delete(f.sessions, token)
	return nil
}

// setRole makes the user an admin or a plain user.
func (f *fakeStore) setRole(id int64, role kura.Role) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[id].Role = role
}

func (f *fakeStore) CreateNotification(ctx context.Context, n *kura.Notification) (bool, error) {
	if err := n.Validate(); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[n.UserID]; !ok {
		return false, kura.Errorf(kura.ENOTFOUND, "User not found.")
	}
	for _, old := range f.notifications {
		if old.Key == n.Key {
			n.ID, n.CreatedAt = old.ID, old.CreatedAt
			return false, nil
		}
	}
	f.nextNoteID++
	n.ID, n.CreatedAt = f.nextNoteID, f.tick()
	c := *n
	f.notifications = append(f.notifications, &c)
	return true, nil
}

func (f *fakeStore) ListNotifications(ctx context.Context, userID int64, opt kura.ListOptions) (*kura.NotificationList, error) {
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
	all := []*kura.Notification{}
	for _, n := range slices.Backward(f.notifications) {
		if n.UserID == userID {
			c := *n
			all = append(all, &c)
		}
	}
	if opt.Page > 0 {
		lo := min((opt.Page-1)*opt.PerPage, len(all))
		hi := min(lo+opt.PerPage, len(all))
		return &kura.NotificationList{Items: all[lo:hi], Page: opt.Page, PerPage: opt.PerPage, Total: int64(len(all))}, nil
	}
	items := []*kura.Notification{}
	for _, n := range all {
		if n.ID < after {
			items = append(items, n)
		}
	}
	list := &kura.NotificationList{Items: items}
	if len(items) > opt.Limit {
		list.Items = items[:opt.Limit]
		list.NextCursor = kura.EncodeCursor(list.Items[opt.Limit-1].ID)
	}
	return list, nil
}
