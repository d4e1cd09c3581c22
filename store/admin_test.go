package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func role(r kura.Role) *kura.Role { return &r }
func flag(b bool) *bool           { return &b }

// mustAdmin stores a user and makes it an admin as the operator.
func mustAdmin(tb testing.TB, db *sqldb.DB, username string) *kura.User {
	tb.Helper()
	u := MustCreateUser(tb, db, username+"@example.com", username)
	u, err := store.NewUsers(db).ChangeAccount(context.Background(), kura.OperatorActor("root"), u.ID, kura.AccountChange{Role: role(kura.RoleAdmin)})
	if err != nil {
		tb.Fatalf("promote %s: %v", username, err)
	}
	return u
}

func mustAudit(tb testing.TB, users *store.Users) []*kura.AuditEntry {
	tb.Helper()
	p, err := users.ListAudit(context.Background(), kura.ListOptions{Limit: 100})
	if err != nil {
		tb.Fatal(err)
	}
	return p.Items
}

// TestUsers_ChangeAccount: a role change and a disable or enable are
// stored and audited (who, what, whom, detail without secrets) in the
// change's transaction; disabling ends every session, tells
// OnSessionsEnded their digests and makes the user's tokens fail; a field
// already at its value writes nothing to the log; bad input loses nothing.
func TestUsers_ChangeAccount(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		users, sessions := store.NewUsers(db), store.NewSessions(db, 0)
		var ended []string
		users.OnSessionsEnded = func(_ context.Context, d []string) { ended = append(ended, d...) }
		admin := mustAdmin(t, db, "boss")
		u := MustCreateUser(t, db, "ann@example.com", "ann")
		s1, _ := sessions.StartSession(ctx, u)
		s2, _ := sessions.StartSession(ctx, u)
		by := kura.UserActor(admin)

		t.Run("OK", func(t *testing.T) {
			got, err := users.ChangeAccount(ctx, by, u.ID, kura.AccountChange{Role: role(kura.RoleAdmin)})
			if err != nil || got.Role != kura.RoleAdmin || got.Disabled {
				t.Fatalf("promote: %+v, %v", got, err)
			}
			got, err = users.ChangeAccount(ctx, by, u.ID, kura.AccountChange{Role: role(kura.RoleUser), Disabled: flag(true)})
			if err != nil || got.Role != kura.RoleUser || !got.Disabled {
				t.Fatalf("demote and disable: %+v, %v", got, err)
			}
			d1, _ := kura.TokenDigest(s1.Token)
			d2, _ := kura.TokenDigest(s2.Token)
			slices.Sort(ended)
			want := []string{d1, d2}
			slices.Sort(want)
			if !slices.Equal(ended, want) {
				t.Fatalf("OnSessionsEnded got %v; want %v", ended, want)
			}
			if _, err := sessions.Authenticate(ctx, s1.Token); kura.ErrorCode(err) != kura.EUNAUTHORIZED {
				t.Fatalf("token of a disabled user: %v; want unauthorized", err)
			}
			// A session started by a login that raced the disable is refused too.
			late, _ := sessions.StartSession(ctx, got)
			if _, err := sessions.Authenticate(ctx, late.Token); kura.ErrorCode(err) != kura.EUNAUTHORIZED {
				t.Fatalf("late session of a disabled user: %v; want unauthorized", err)
			}
			if dis, err := users.Disabled(ctx, u.ID); err != nil || !dis {
				t.Fatalf("Disabled = %v, %v", dis, err)
			}
			if got, err = users.ChangeAccount(ctx, by, u.ID, kura.AccountChange{Disabled: flag(false)}); err != nil || got.Disabled {
				t.Fatalf("enable: %+v, %v", got, err)
			}
			if _, err := users.ChangeAccount(ctx, by, u.ID, kura.AccountChange{Disabled: flag(false)}); err != nil {
				t.Fatalf("enable again: %v", err)
			}
			log := mustAudit(t, users)
			var actions []string
			for _, e := range log {
				actions = append(actions, e.Action)
			}
			want = []string{kura.AuditEnable, kura.AuditDisable, kura.AuditRoleChange, kura.AuditRoleChange, kura.AuditRoleChange}
			if !slices.Equal(actions, want) {
				t.Fatalf("audit actions (newest first) = %v; want %v", actions, want)
			}
			dis := log[1]
			if dis.ActorID != admin.ID || dis.Actor != "boss" || dis.TargetID != u.ID || dis.At.IsZero() {
				t.Fatalf("disable entry: %+v", dis)
			}
			var detail map[string]any
			if err := json.Unmarshal([]byte(dis.Detail), &detail); err != nil || detail["sessions_ended"] != float64(2) {
				t.Fatalf("disable detail %q: %v", dis.Detail, err)
			}
			if first := log[4]; first.ActorID != 0 || first.Actor != "operator:root" || first.Detail != `{"from":"user","to":"admin"}` {
				t.Fatalf("operator's entry: %+v", first)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			before := len(mustAudit(t, users))
			_, err := users.ChangeAccount(ctx, by, u.ID, kura.AccountChange{Role: role("root")})
			wantCode(t, err, kura.EINVALID)
			_, err = users.ChangeAccount(ctx, by, u.ID, kura.AccountChange{})
			wantCode(t, err, kura.EINVALID)
			_, err = users.ChangeAccount(ctx, by, 99999, kura.AccountChange{Disabled: flag(true)})
			wantCode(t, err, kura.ENOTFOUND)
			if n := len(mustAudit(t, users)); n != before {
				t.Fatalf("refused changes wrote %d audit entries", n-before)
			}
		})
	})
}

// TestUsers_LastAdmin: the last active admin cannot be demoted, disabled
// or deleted (ECONFLICT, nothing changed); a disabled admin does not
// count; with two, one may go.
func TestUsers_LastAdmin(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		users := store.NewUsers(db)
		a := mustAdmin(t, db, "alpha")
		by := kura.UserActor(a)
		_, err := users.ChangeAccount(ctx, by, a.ID, kura.AccountChange{Role: role(kura.RoleUser)})
		wantCode(t, err, kura.ECONFLICT)
		if kura.ErrorMessage(err) != kura.LastAdminMessage {
			t.Fatalf("message %q; want %q", kura.ErrorMessage(err), kura.LastAdminMessage)
		}
		_, err = users.ChangeAccount(ctx, by, a.ID, kura.AccountChange{Disabled: flag(true)})
		wantCode(t, err, kura.ECONFLICT)
		wantCode(t, users.DeleteAccount(ctx, by, a.ID, kura.Precondition{}), kura.ECONFLICT)
		wantCode(t, users.DeleteUser(ctx, a.ID), kura.ECONFLICT)
		if got, _ := users.FindUserByID(ctx, a.ID); got.Role != kura.RoleAdmin || got.Disabled {
			t.Fatalf("refused changes changed the admin: %+v", got)
		}

		b := mustAdmin(t, db, "beta")
		if _, err := users.ChangeAccount(ctx, by, b.ID, kura.AccountChange{Disabled: flag(true)}); err != nil {
			t.Fatalf("disable the second admin: %v", err)
		}
		_, err = users.ChangeAccount(ctx, by, a.ID, kura.AccountChange{Role: role(kura.RoleUser)})
		wantCode(t, err, kura.ECONFLICT) // beta is disabled: alpha is the last active admin
		if _, err := users.ChangeAccount(ctx, by, b.ID, kura.AccountChange{Disabled: flag(false)}); err != nil {
			t.Fatal(err)
		}
		if err := users.DeleteAccount(ctx, by, a.ID, kura.Precondition{}); err != nil {
			t.Fatalf("delete one of two admins: %v", err)
		}
		if e := mustAudit(t, users)[0]; e.Action != kura.AuditDelete || e.TargetID != a.ID || e.Detail != `{"role":"admin","username":"alpha"}` {
			t.Fatalf("delete entry: %+v", e)
		}
		wantCode(t, users.DeleteUser(ctx, b.ID), kura.ECONFLICT)
	})
}

// TestUsers_LastAdminConcurrent: two admins each removed at the same time
// by another transaction (a demotion, a disable, a deletion), round after
// round: exactly one of each pair wins and an active admin always stays,
// on every engine (the active admins' rows are locked, or SQLite's one
// writer serializes).
func TestUsers_LastAdminConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		users := store.NewUsers(db)
		removals := []func(id int64) error{
			func(id int64) error {
				_, err := users.ChangeAccount(ctx, kura.OperatorActor("t"), id, kura.AccountChange{Role: role(kura.RoleUser)})
				return err
			},
			func(id int64) error {
				_, err := users.ChangeAccount(ctx, kura.OperatorActor("t"), id, kura.AccountChange{Disabled: flag(true)})
				return err
			},
			func(id int64) error {
				return users.DeleteAccount(ctx, kura.OperatorActor("t"), id, kura.Precondition{})
			},
		}
		for round := range 6 {
			a := mustAdmin(t, db, fmt.Sprintf("a%d", round))
			b := mustAdmin(t, db, fmt.Sprintf("b%d", round))
			// Only a and b are active admins: retire the previous round's survivor.
			retireOthers(t, db, users, a.ID, b.ID)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, id := range []int64{a.ID, b.ID} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = removals[(round+i)%len(removals)](id)
				}()
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else if kura.ErrorCode(err) != kura.ECONFLICT {
					t.Fatalf("round %d: %v; want nil or conflict", round, err)
				}
			}
			if won != 1 || activeAdmins(t, db) != 1 {
				t.Fatalf("round %d: %d removals won, %d active admins left (%v); want 1 and 1", round, won, activeAdmins(t, db), errs)
			}
		}
	})
}

// retireOthers demotes every active admin but keep.
func retireOthers(tb testing.TB, db *sqldb.DB, users *store.Users, keep ...int64) {
	tb.Helper()
	list, err := users.ListUsers(context.Background(), kura.ListOptions{Limit: 100})
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range list.Items {
		if u.Role == kura.RoleAdmin && !u.Disabled && !slices.Contains(keep, u.ID) {
			if _, err := users.ChangeAccount(context.Background(), kura.OperatorActor("t"), u.ID, kura.AccountChange{Role: role(kura.RoleUser)}); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func activeAdmins(tb testing.TB, db *sqldb.DB) (n int) {
	tb.Helper()
	err := db.Read(context.Background(), func(q sqldb.Querier) error {
		return q.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0").Scan(&n)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestUsers_EndSessionsAndAuditPages: an admin ends a user's sessions
// (counted, audited, reported to OnSessionsEnded); the audit log pages by
// keyset, newest first, without repeats; an unknown user is ENOTFOUND.
func TestUsers_EndSessionsAndAuditPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		users, sessions := store.NewUsers(db), store.NewSessions(db, 0)
		var ended int
		users.OnSessionsEnded = func(_ context.Context, d []string) { ended += len(d) }
		u := MustCreateUser(t, db, "ann@example.com", "ann")
		for range 3 {
			if _, err := sessions.StartSession(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		n, err := users.EndSessions(ctx, kura.OperatorActor("op"), u.ID)
		if err != nil || n != 3 || ended != 3 {
			t.Fatalf("EndSessions = %d, %v (hook saw %d); want 3", n, err, ended)
		}
		_, err = users.EndSessions(ctx, kura.OperatorActor("op"), 424242)
		wantCode(t, err, kura.ENOTFOUND)
		for range 4 {
			if _, err := users.EndSessions(ctx, kura.OperatorActor("op"), u.ID); err != nil {
				t.Fatal(err)
			}
		}
		var ids []int64
		opt := kura.ListOptions{Limit: 2}
		for {
			p, err := users.ListAudit(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Items {
				ids = append(ids, e.ID)
			}
			if p.NextCursor == "" {
				break
			}
			opt.Cursor = p.NextCursor
		}
		if len(ids) != 5 || !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) {
			t.Fatalf("audit ids by pages of 2: %v; want 5, newest first", ids)
		}
		_, err = users.ListAudit(ctx, kura.ListOptions{Cursor: "bogus"})
		wantCode(t, err, kura.EINVALID)
	})
}
