package accounts_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
)

// guardLog is a kura.PasswordGuard that records the accounts it is called
// for and refuses while refuse is set.
type guardLog struct {
	mu       sync.Mutex
	accounts []string
	refuse   bool
}

var errGuarded = &kura.Error{Code: kura.ERATELIMITED, Message: "Too many requests; retry later."}

func (g *guardLog) guard(_ context.Context, account string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.accounts = append(g.accounts, account)
	if g.refuse {
		return errGuarded
	}
	return nil
}

// take returns the accounts recorded since the last take.
func (g *guardLog) take() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.accounts
	g.accounts = nil
	return a
}

// TestSessionService_PasswordGuard checks that a login calls the password
// guard once, right before the password is verified, with one account for
// every spelling of a login the store matches: the user's for a known one
// (email in any case, full-width letters, an ideographic full stop, its
// xn-- form, or the username), the canonical form for an unknown one; and
// that a guard's refusal is returned without a check.
func TestSessionService_PasswordGuard(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewSessionService(db, time.Hour)
		g := &guardLog{}
		ctx := kura.WithPasswordGuard(context.Background(), g.guard)
		u := MustCreateUser(t, db, "ann@bücher.de", "Ann_K")
		spellings := []string{
			"ann@bücher.de", "ANN@BÜCHER.DE", " Ann@Bücher.De ",
			"ann@ｂüｃｈｅｒ.ｄｅ", // full-width letters
			"ann@bücher。de", // U+3002 ideographic full stop
			"ann@xn--bcher-kva.de", "ANN@XN--BCHER-KVA.DE",
			"Ann_K", "ann_k", "ANN_K",
		}
		for i, login := range spellings {
			pw := "password-1"
			if i%3 == 0 {
				pw = "wrong password"
			}
			_, err := s.Login(ctx, login, pw)
			if pw == "password-1" && err != nil {
				t.Fatalf("login %q with the right password: %v", login, err)
			} else if pw != "password-1" {
				wantCode(t, err, kura.EUNAUTHORIZED)
			}
			if got := g.take(); !slices.Equal(got, []string{kura.UserAccount(u.ID)}) {
				t.Fatalf("login %q: guard called for %q, want once for %q", login, got, kura.UserAccount(u.ID))
			}
		}
		unknown := map[string]string{
			"zed@bücher.de":          kura.UnknownAccount("zed@bücher.de"),
			"ZED@XN--BCHER-KVA.DE":   kura.UnknownAccount("zed@bücher.de"),
			"zed@ｂüｃｈｅｒ。ｄｅ":          kura.UnknownAccount("zed@bücher.de"),
			"Zed_Q":                  kura.UnknownAccount("zed_q"),
			" zed_q ":                kura.UnknownAccount("zed_q"),
			"ann_k@xn--bcher-kva.de": kura.UnknownAccount("ann_k@bücher.de"),
		}
		for login, want := range unknown {
			_, err := s.Login(ctx, login, "password-1")
			wantCode(t, err, kura.EUNAUTHORIZED)
			if got := g.take(); !slices.Equal(got, []string{want}) {
				t.Fatalf("unknown login %q: guard called for %q, want once for %q", login, got, want)
			}
		}

		g.refuse = true
		for _, login := range []string{"ann_k", "zed_q"} {
			sess, err := s.Login(ctx, login, "password-1")
			if !errors.Is(err, errGuarded) || sess != nil {
				t.Fatalf("login %q with the guard refusing: %v, %v; want the guard's error", login, sess, err)
			}
		}
		g.take()
		// An overlong password is no check: no account can have one.
		_, err := s.Login(ctx, "ann_k", string(make([]byte, kura.MaxPasswordLen+1)))
		wantCode(t, err, kura.EUNAUTHORIZED)
		if got := g.take(); got != nil {
			t.Fatalf("guard called for %q on an overlong password", got)
		}
	})
}

// TestUserService_PasswordGuard checks that a current password is checked
// through the guard, with the account a login to the user meets, after
// the fields are validated, and that a refusal changes nothing.
func TestUserService_PasswordGuard(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := accounts.NewUserService(db)
		g := &guardLog{}
		ctx := kura.WithPasswordGuard(context.Background(), g.guard)
		u := MustCreateUser(t, db, "bea@example.com", "bea")
		account := []string{kura.UserAccount(u.ID)}

		// An unchanged field with a guessed password still meets the guard.
		_, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Username: ptr("bea"), CurrentPassword: ptr("guess 1")})
		wantCode(t, err, kura.EINVALID)
		if got := g.take(); !slices.Equal(got, account) {
			t.Fatalf("guard called for %q, want %q", got, account)
		}
		// Invalid fields are refused before any check; a missing password
		// is no check.
		_, err = s.UpdateUser(ctx, u.ID, kura.UserUpdate{Email: ptr("not an email"), CurrentPassword: ptr("guess 2")})
		wantCode(t, err, kura.EINVALID)
		_, err = s.UpdateUser(ctx, u.ID, kura.UserUpdate{Password: ptr("another password"), CurrentPassword: ptr("")})
		wantCode(t, err, kura.EINVALID)
		if got := g.take(); got != nil {
			t.Fatalf("guard called for %q without a check", got)
		}

		g.refuse = true
		_, err = s.UpdateUser(ctx, u.ID, kura.UserUpdate{Password: ptr("another password"), CurrentPassword: ptr("password-1")})
		if !errors.Is(err, errGuarded) {
			t.Fatalf("update with the guard refusing: %v; want the guard's error", err)
		}
		g.refuse = false
		if _, err := accounts.NewSessionService(db, time.Hour).Login(ctx, "bea", "password-1"); err != nil {
			t.Fatalf("the password changed though the guard refused: %v", err)
		}
		if got := g.take(); !slices.Equal(got, []string{account[0], account[0]}) {
			t.Fatalf("guard called for %q, want the update's and the login's %q", got, account)
		}
		if _, err := s.UpdateUser(ctx, u.ID, kura.UserUpdate{Password: ptr("another password"), CurrentPassword: ptr("password-1")}); err != nil {
			t.Fatal(err)
		}
	})
}
