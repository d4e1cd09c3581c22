package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
)

func TestSessionService_Login(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		clk := newClock(db)
		s := accounts.NewSessionService(db, time.Hour)
		ctx := context.Background()
		u := MustCreateUser(t, db, "kim@example.com", "KimK")

		for _, login := range []string{"kim@example.com", "KIM@Example.com", " kimk ", "KIMK", "KimK"} {
			t.Run("OK/"+login, func(t *testing.T) {
				sess, err := s.Login(ctx, login, "password-1")
				if err != nil {
					t.Fatal(err)
				}
				if sess.ID == 0 || sess.UserID != u.ID || sess.User == nil || sess.User.Email != u.Email || len(sess.Token) != 43 {
					t.Fatalf("unexpected session %+v", sess)
				}
				if !sess.CreatedAt.Equal(clk.Now()) || !sess.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
					t.Fatalf("session times %v..%v; clock %v", sess.CreatedAt, sess.ExpiresAt, clk.Now())
				}
			})
		}

		t.Run("ErrSameForWrongPasswordAndUnknownLogin", func(t *testing.T) {
			_, errPw := s.Login(ctx, "kim@example.com", "password-2")
			_, errLogin := s.Login(ctx, "nobody@example.com", "password-1")
			_, errName := s.Login(ctx, "nobody", "password-1")
			_, errEmpty := s.Login(ctx, "", "")
			for _, err := range []error{errPw, errLogin, errName, errEmpty} {
				wantCode(t, err, kura.EUNAUTHORIZED)
				if kura.ErrorMessage(err) != "Invalid login or password." {
					t.Fatalf("message = %q", kura.ErrorMessage(err))
				}
			}
		})
	})
}

func TestSessionService_Authenticate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		clk := newClock(db)
		s := accounts.NewSessionService(db, time.Hour)
		ctx := context.Background()
		u := MustCreateUser(t, db, "lee@example.com", "lee")
		sess, err := s.Login(ctx, "lee", "password-1")
		if err != nil {
			t.Fatal(err)
		}

		t.Run("OK", func(t *testing.T) {
			got, err := s.Authenticate(ctx, sess.Token)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != sess.ID || got.UserID != u.ID || !reflect.DeepEqual(*got.User, *u) || got.Token != "" ||
				!got.CreatedAt.Equal(sess.CreatedAt) || !got.ExpiresAt.Equal(sess.ExpiresAt) {
				t.Fatalf("Authenticate = %+v (user %+v); want session %+v of %+v", got, got.User, sess, u)
			}
		})

		t.Run("ErrUnknown", func(t *testing.T) {
			for _, tok := range []string{"", "not base64!", "c2hvcnQ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
				_, err := s.Authenticate(ctx, tok)
				wantCode(t, err, kura.EUNAUTHORIZED)
			}
		})

		t.Run("ErrExpired", func(t *testing.T) {
			clk.Add(time.Hour - time.Millisecond)
			if _, err := s.Authenticate(ctx, sess.Token); err != nil {
				t.Fatalf("one millisecond before expiry: %v", err)
			}
			clk.Add(time.Millisecond)
			_, err := s.Authenticate(ctx, sess.Token)
			wantCode(t, err, kura.EUNAUTHORIZED)

			n, err := s.DeleteExpiredSessions(ctx)
			if err != nil || n != 1 {
				t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
			}
		})
	})
}

func TestSessionService_Logout(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewSessionService(db, 0)
		ctx := context.Background()
		MustCreateUser(t, db, "max@example.com", "max")
		a, err := s.Login(ctx, "max", "password-1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Login(ctx, "max", "password-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Logout(ctx, a.Token); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, a.Token)
		wantCode(t, err, kura.EUNAUTHORIZED)
		if _, err := s.Authenticate(ctx, b.Token); err != nil {
			t.Fatalf("the other session ended too: %v", err)
		}
		wantCode(t, s.Logout(ctx, a.Token), kura.EUNAUTHORIZED)
		wantCode(t, s.Logout(ctx, "garbage"), kura.EUNAUTHORIZED)
	})
}

// TestSessionService_LoginStoredEmailNowRefused: an address stored before
// emailaddr refused its characters (an invisible one, a full-width letter,
// mixed scripts) is still reached by a login with its stored form, and by
// its other spellings of case and domain; a new account or a change to
// such an address is refused, naming email.
func TestSessionService_LoginStoredEmailNowRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := accounts.NewSessionService(db, time.Hour)
		users := accounts.NewUserService(db)
		for i, stored := range []string{"an\u200bn@example.com", "\uff42ob@example.com", "p\u0430ypal@example.com", "cy\u00add@example.com"} {
			u := MustCreateUser(t, db, fmt.Sprintf("legacy%d@example.com", i), fmt.Sprintf("legacy%d", i))
			// As an older kura stored it, before the rule.
			if _, err := db.Writer().ExecContext(ctx, db.Rebind("UPDATE users SET email = ? WHERE id = ?"), stored, u.ID); err != nil {
				t.Fatal(err)
			}
			for _, login := range []string{stored, strings.ToUpper(stored), strings.Replace(stored, "example.com", "EXAMPLE.com", 1)} {
				sess, err := s.Login(ctx, login, "password-1")
				if err != nil || sess.UserID != u.ID {
					t.Errorf("login %+q of the stored address %+q: %v", login, stored, err)
				}
			}
			if _, err := users.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: ptr(fmt.Sprintf("legacy%dx", i))}); err != nil {
				t.Errorf("a change of username of the account at %+q: %v", stored, err)
			}
			_, err := users.CreateUser(ctx, kura.NewUser{Email: strings.Replace(stored, "@", "2@", 1), Username: fmt.Sprintf("new%d", i), Password: "password-1"})
			if ke := (*kura.Error)(nil); !errors.As(err, &ke) || ke.Code != kura.EINVALID || ke.Fields["email"] == "" {
				t.Errorf("create with %+q = %v; want EINVALID naming email", stored, err)
			}
		}
	})
}
