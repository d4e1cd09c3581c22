package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/password"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func ptr[T any](v T) *T { return &v }

func TestUserService_CreateUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewUserService(db)
		ctx := context.Background()

		t.Run("OK", func(t *testing.T) {
			u, err := s.CreateUser(ctx, kura.NewUser{Email: "  Alice@Example.COM ", Username: "Alice", Password: "password-1"})
			if err != nil {
				t.Fatal(err)
			}
			if u.ID == 0 || u.Email != "alice@example.com" || u.Username != "Alice" || u.Role != kura.RoleUser {
				t.Fatalf("unexpected user %+v", u)
			}
			if u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) || u.CreatedAt.Location() != time.UTC {
				t.Fatalf("unexpected times %v %v", u.CreatedAt, u.UpdatedAt)
			}
			var hash string
			if err := db.Reader().QueryRow("SELECT password_hash FROM users WHERE id = " + strconv.FormatInt(u.ID, 10)).Scan(&hash); err != nil {
				t.Fatal(err)
			}
			if ok, err := password.Verify("password-1", hash); !ok || err != nil {
				t.Fatalf("stored hash does not verify: %v %v", ok, err)
			}
			got, err := s.FindUserByID(ctx, u.ID)
			if err != nil || !reflect.DeepEqual(*got, *u) {
				t.Fatalf("FindUserByID = %+v, %v; want %+v", got, err, u)
			}
		})

		t.Run("Admin", func(t *testing.T) {
			u, err := s.CreateUser(ctx, kura.NewUser{Email: "root@example.com", Username: "root", Password: "password-1", Role: kura.RoleAdmin})
			if err != nil || u.Role != kura.RoleAdmin {
				t.Fatalf("CreateUser(admin) = %+v, %v", u, err)
			}
		})

		t.Run("ErrEmailTaken", func(t *testing.T) {
			MustCreateUser(t, db, "bob@example.com", "bob")
			_, err := s.CreateUser(ctx, kura.NewUser{Email: "BOB@example.com", Username: "bobby", Password: "password-1"})
			wantCode(t, err, kura.ECONFLICT)
			if f := kura.ErrorFields(err); f["email"] == "" || len(f) != 1 {
				t.Fatalf("fields = %v; want email", f)
			}
		})

		t.Run("ErrUsernameTaken", func(t *testing.T) {
			MustCreateUser(t, db, "carol@example.com", "Carol")
			// The value holds "email" to check that the field comes from the key, not the value.
			_, err := s.CreateUser(ctx, kura.NewUser{Email: "email@example.com", Username: "cAROL", Password: "password-1"})
			wantCode(t, err, kura.ECONFLICT)
			if f := kura.ErrorFields(err); f["username"] == "" || len(f) != 1 {
				t.Fatalf("fields = %v; want username", f)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.CreateUser(ctx, kura.NewUser{Email: "not-an-email", Username: "x", Password: "short"})
			wantCode(t, err, kura.EINVALID)
			f := kura.ErrorFields(err)
			if f["email"] == "" || f["username"] == "" || f["password"] == "" {
				t.Fatalf("fields = %v; want email, username and password", f)
			}
		})
	})
}

func TestUserService_OnCreate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewUserService(db)
		notifications := store.NewNotificationService(db)
		ctx := context.Background()
		// welcome inserts a notification of u in tx.
		welcome := func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
			id := strconv.FormatInt(u.ID, 10)
			_, err := tx.ExecContext(ctx, "INSERT INTO notifications (user_id, kind, idempotency_key, message) "+
				"VALUES ("+id+", 'welcome', 'welcome:"+id+"', 'Welcome, "+u.Username+"!')")
			return err
		}

		t.Run("OK", func(t *testing.T) {
			var got *kura.User
			s.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
				got = u
				return welcome(ctx, tx, u)
			}
			u, err := s.CreateUser(ctx, kura.NewUser{Email: "pia@example.com", Username: "pia", Password: "password-1"})
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.ID != u.ID || got.Email != "pia@example.com" || got.CreatedAt.IsZero() {
				t.Fatalf("the hook got %+v; want the new user %+v", got, u)
			}
			list, err := notifications.ListNotifications(ctx, u.ID, kura.ListOptions{})
			if err != nil || len(list.Items) != 1 || list.Items[0].Message != "Welcome, pia!" {
				t.Fatalf("notifications = %+v, %v; want the welcome", list, err)
			}
		})

		t.Run("ErrRollsBack", func(t *testing.T) {
			boom := errors.New("boom")
			s.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
				if err := welcome(ctx, tx, u); err != nil {
					return err
				}
				return boom
			}
			before := countNotifications(t, db)
			u, err := s.CreateUser(ctx, kura.NewUser{Email: "quinn@example.com", Username: "quinn", Password: "password-1"})
			if !errors.Is(err, boom) || u != nil {
				t.Fatalf("CreateUser = %+v, %v; want the hook's error", u, err)
			}
			var n int
			if err := db.Reader().QueryRow("SELECT COUNT(*) FROM users WHERE username = 'quinn'").Scan(&n); err != nil || n != 0 {
				t.Fatalf("users named quinn: %d, %v; want none", n, err)
			}
			if n := countNotifications(t, db); n != before {
				t.Fatalf("%d notifications; want %d", n, before)
			}
			// A kura error keeps its code through CreateUser.
			s.OnCreate = func(context.Context, *sqldb.Tx, *kura.User) error {
				return kura.Errorf(kura.EUNAVAILABLE, "The queue is busy.")
			}
			_, err = s.CreateUser(ctx, kura.NewUser{Email: "quinn@example.com", Username: "quinn", Password: "password-1"})
			wantCode(t, err, kura.EUNAVAILABLE)
			// Without the hook the same user can be created: nothing was left behind.
			s.OnCreate = nil
			if _, err := s.CreateUser(ctx, kura.NewUser{Email: "quinn@example.com", Username: "quinn", Password: "password-1"}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestUserService_FindUserByID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		_, err := accounts.NewUserService(db).FindUserByID(context.Background(), 424242)
		wantCode(t, err, kura.ENOTFOUND)
	})
}

func TestUserService_FindPublicUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewUserService(db)
		u := MustCreateUser(t, db, "pia@example.com", "pia")
		got, err := s.FindPublicUser(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.Username != "pia" || !got.CreatedAt.Equal(u.CreatedAt) || got.Email != "" || got.Role != "" {
			t.Fatalf("public view = %+v; want only id, username and created_at of %+v", got, u)
		}
		_, err = s.FindPublicUser(context.Background(), 424242)
		wantCode(t, err, kura.ENOTFOUND)
	})
}

func TestUserService_UpdateUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewUserService(db)
		ctx := context.Background()

		t.Run("OK", func(t *testing.T) {
			u := MustCreateUser(t, db, "dave@example.com", "dave")
			got, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Email: ptr(" Dave2@Example.com"), Username: ptr("dave2")})
			if err != nil {
				t.Fatal(err)
			}
			if got.Email != "dave2@example.com" || got.Username != "dave2" || !got.CreatedAt.Equal(u.CreatedAt) {
				t.Fatalf("unexpected user %+v", got)
			}
			// updated_at is moved by the database itself, even right after create.
			if !got.UpdatedAt.After(u.UpdatedAt) {
				t.Fatalf("updated_at %v did not move past %v", got.UpdatedAt, u.UpdatedAt)
			}
			again, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: ptr("dave3")})
			if err != nil || !again.UpdatedAt.After(got.UpdatedAt) || again.Email != "dave2@example.com" {
				t.Fatalf("second update = %+v, %v", again, err)
			}
		})

		t.Run("Empty", func(t *testing.T) {
			u := MustCreateUser(t, db, "erin@example.com", "erin")
			got, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{})
			if err != nil || !reflect.DeepEqual(*got, *u) {
				t.Fatalf("empty update = %+v, %v; want %+v", got, err, u)
			}
		})

		t.Run("PasswordEndsSessions", func(t *testing.T) {
			u := MustCreateUser(t, db, "frank@example.com", "frank")
			sessions := accounts.NewSessionService(db, 0)
			sess, err := sessions.Login(ctx, "frank", "password-1")
			if err != nil {
				t.Fatal(err)
			}
			sess2, err := sessions.Login(ctx, "frank@example.com", "password-1")
			if err != nil {
				t.Fatal(err)
			}
			other := MustCreateUser(t, db, "fred@example.com", "fred")
			if _, err := sessions.Login(ctx, "fred", "password-1"); err != nil {
				t.Fatal(err)
			}
			users := accounts.NewUserService(db)
			var ended []string
			users.OnSessionsEnded = func(_ context.Context, d []string) { ended = append(ended, d...) }
			if _, err := users.UpdateUser(ctx, other.ID, kura.UserUpdate{Username: ptr("freddy")}); err != nil {
				t.Fatal(err)
			}
			if len(ended) != 0 {
				t.Fatalf("a username change reported ended sessions: %v", ended)
			}
			if _, err := users.UpdateUser(ctx, u.ID, kura.UserUpdate{Password: ptr("password-2")}); err != nil {
				t.Fatal(err)
			}
			d1, _ := kura.TokenDigest(sess.Token)
			d2, _ := kura.TokenDigest(sess2.Token)
			slices.Sort(ended)
			want := []string{d1, d2}
			slices.Sort(want)
			if !slices.Equal(ended, want) {
				t.Fatalf("ended sessions = %v, want exactly frank's two: %v", ended, want)
			}
			_, err = sessions.Authenticate(ctx, sess.Token)
			wantCode(t, err, kura.EUNAUTHORIZED)
			_, err = sessions.Login(ctx, "frank", "password-1")
			wantCode(t, err, kura.EUNAUTHORIZED)
			if _, err := sessions.Login(ctx, "frank", "password-2"); err != nil {
				t.Fatalf("login with new password: %v", err)
			}
		})

		t.Run("PasswordKeepsOneSession", func(t *testing.T) {
			u := MustCreateUser(t, db, "kate@example.com", "kate")
			sessions := accounts.NewSessionService(db, 0)
			var tokens []string
			for range 3 {
				sess, err := sessions.Login(ctx, "kate", "password-1")
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, sess.Token)
			}
			users := accounts.NewUserService(db)
			var ended []string
			users.OnSessionsEnded = func(_ context.Context, d []string) { ended = append(ended, d...) }
			keep, _ := kura.TokenDigest(tokens[0])
			if _, err := users.UpdateUser(ctx, u.ID, kura.UserUpdate{Password: ptr("password-2"), KeepSession: keep}); err != nil {
				t.Fatal(err)
			}
			d1, _ := kura.TokenDigest(tokens[1])
			d2, _ := kura.TokenDigest(tokens[2])
			slices.Sort(ended)
			want := []string{d1, d2}
			slices.Sort(want)
			if !slices.Equal(ended, want) {
				t.Fatalf("ended sessions = %v, want the two others: %v", ended, want)
			}
			if _, err := sessions.Authenticate(ctx, tokens[0]); err != nil {
				t.Fatalf("the kept session: %v", err)
			}
			for _, tok := range tokens[1:] {
				_, err := sessions.Authenticate(ctx, tok)
				wantCode(t, err, kura.EUNAUTHORIZED)
			}
		})

		t.Run("CurrentPassword", func(t *testing.T) {
			u := MustCreateUser(t, db, "liam@example.com", "liam")
			for _, wrong := range []string{"password-2", "", strings.Repeat("x", kura.MaxPasswordLen+1)} {
				_, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Email: ptr("liam2@example.com"), CurrentPassword: ptr(wrong)})
				wantCode(t, err, kura.EINVALID)
				if f := kura.ErrorFields(err); f["current_password"] == "" || len(f) != 1 {
					t.Fatalf("fields = %v; want current_password", f)
				}
			}
			if got, _ := s.FindUserByID(ctx, u.ID); got.Email != "liam@example.com" {
				t.Fatalf("a refused update changed the email to %s", got.Email)
			}
			got, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Email: ptr("liam2@example.com"), CurrentPassword: ptr("password-1")})
			if err != nil || got.Email != "liam2@example.com" {
				t.Fatalf("update with the right password = %+v, %v", got, err)
			}
			_, err = s.UpdateUser(ctx, 424242, kura.UserUpdate{Email: ptr("x@example.com"), CurrentPassword: ptr("password-1")})
			wantCode(t, err, kura.ENOTFOUND)
		})

		t.Run("ErrConflict", func(t *testing.T) {
			MustCreateUser(t, db, "gina@example.com", "gina")
			u := MustCreateUser(t, db, "hank@example.com", "hank")
			_, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Email: ptr("GINA@example.com")})
			wantCode(t, err, kura.ECONFLICT)
			_, err = s.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: ptr("GINA")})
			wantCode(t, err, kura.ECONFLICT)
			if kura.ErrorFields(err)["username"] == "" {
				t.Fatalf("fields = %v; want username", kura.ErrorFields(err))
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			u := MustCreateUser(t, db, "ivan@example.com", "ivan")
			_, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Email: ptr("nope"), Password: ptr("1")})
			wantCode(t, err, kura.EINVALID)
			if f := kura.ErrorFields(err); f["email"] == "" || f["password"] == "" || len(f) != 2 {
				t.Fatalf("fields = %v", f)
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.UpdateUser(ctx, 424242, kura.UserUpdate{Username: ptr("ghost")})
			wantCode(t, err, kura.ENOTFOUND)
		})
	})
}

func TestUserService_DeleteUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewUserService(db)
		sessions := accounts.NewSessionService(db, 0)
		ctx := context.Background()
		u := MustCreateUser(t, db, "judy@example.com", "judy")
		sess, err := sessions.Login(ctx, "judy@example.com", "password-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.FindUserByID(ctx, u.ID)
		wantCode(t, err, kura.ENOTFOUND)
		_, err = sessions.Authenticate(ctx, sess.Token)
		wantCode(t, err, kura.EUNAUTHORIZED)
		var n int
		if err := db.Reader().QueryRow("SELECT COUNT(*) FROM sessions").Scan(&n); err != nil || n != 0 {
			t.Fatalf("sessions left: %d, %v", n, err)
		}
		wantCode(t, s.DeleteUser(ctx, u.ID), kura.ENOTFOUND)
	})
}

func TestUserService_ListUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewUserService(db)
		ctx := context.Background()
		if err := s.SeedUsers(ctx, 7, nil); err != nil {
			t.Fatal(err)
		}

		t.Run("Keyset", func(t *testing.T) {
			seen := map[int64]bool{}
			var order []int64
			cursor := ""
			for page := 0; ; page++ {
				list, err := s.ListUsers(ctx, kura.ListOptions{Limit: 3, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range list.Items {
					if seen[u.ID] {
						t.Fatalf("user %d repeated", u.ID)
					}
					seen[u.ID] = true
					order = append(order, u.ID)
				}
				if page == 0 {
					// Rows inserted between page reads must not shift later pages.
					if err := s.SeedUsers(ctx, 2, nil); err != nil {
						t.Fatal(err)
					}
				}
				if list.NextCursor == "" {
					break
				}
				cursor = list.NextCursor
			}
			if len(order) != 7 {
				t.Fatalf("read %d users over the pages; want the 7 that existed at the start", len(order))
			}
			for i := 1; i < len(order); i++ {
				if order[i] >= order[i-1] {
					t.Fatalf("not newest first: %v", order)
				}
			}
		})

		t.Run("Offset", func(t *testing.T) {
			list, err := s.ListUsers(ctx, kura.ListOptions{Page: 2, PerPage: 4})
			if err != nil {
				t.Fatal(err)
			}
			if list.Total != 9 || len(list.Items) != 4 || list.Page != 2 || list.PerPage != 4 {
				t.Fatalf("page 2 = total %d, %d items, page %d/%d", list.Total, len(list.Items), list.Page, list.PerPage)
			}
			last, err := s.ListUsers(ctx, kura.ListOptions{Page: 3, PerPage: 4})
			if err != nil || len(last.Items) != 1 {
				t.Fatalf("page 3 = %v, %v", last, err)
			}
			past, err := s.ListUsers(ctx, kura.ListOptions{Page: 9, PerPage: 4})
			if err != nil || len(past.Items) != 0 || past.Total != 9 {
				t.Fatalf("page 9 = %v, %v", past, err)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.ListUsers(ctx, kura.ListOptions{Cursor: "garbage"})
			wantCode(t, err, kura.EINVALID)
			_, err = s.ListUsers(ctx, kura.ListOptions{Limit: 101})
			wantCode(t, err, kura.EINVALID)
		})
	})
}

func TestUserService_SeedUsers(t *testing.T) {
	db := MustOpenDB(t, sqldb.SQLite)
	s := accounts.NewUserService(db)
	var calls []int
	for range 2 { // twice: the run prefix keeps them unique
		calls = nil
		if err := s.SeedUsers(context.Background(), 1203, func(done int) { calls = append(calls, done) }); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(calls) != "[500 1000 1203]" {
		t.Fatalf("progress calls = %v", calls)
	}
	list, err := s.ListUsers(context.Background(), kura.ListOptions{Page: 1})
	if err != nil || list.Total != 2406 {
		t.Fatalf("total = %v, %v; want 2406", list, err)
	}
	if _, err := accounts.NewSessionService(db, 0).Login(context.Background(), list.Items[0].Username, accounts.SeedPassword); err != nil {
		t.Fatalf("login as a seeded user: %v", err)
	}
}
