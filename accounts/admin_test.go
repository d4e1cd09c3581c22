package accounts_test

import (
	"context"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
)

// TestSessionService_LoginDisabled: a disabled account's login, with the
// right password, gets exactly the answer of a wrong password (code and
// message), so a login tells nobody which accounts are disabled; enabled
// again, it logs in. MayLogIn and MayResetPassword say no while disabled.
func TestSessionService_LoginDisabled(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := accounts.NewSessionService(db, 0)
		users := accounts.NewUserService(db)
		u := MustCreateUser(t, db, "kim@example.com", "kim")
		off, on := true, false
		if _, err := users.ChangeAccount(ctx, kura.OperatorActor("t"), u.ID, kura.AccountChange{Disabled: &off}); err != nil {
			t.Fatal(err)
		}
		_, errDisabled := s.Login(ctx, "kim", "password-1")
		_, errWrong := s.Login(ctx, "kim", "password-2")
		if kura.ErrorCode(errDisabled) != kura.EUNAUTHORIZED || kura.ErrorMessage(errDisabled) != kura.ErrorMessage(errWrong) {
			t.Fatalf("disabled login: %v; wrong password: %v; want the same unauthorized answer", errDisabled, errWrong)
		}
		got, err := users.FindUserByID(ctx, u.ID)
		if err != nil || accounts.MayLogIn(got) || accounts.MayResetPassword(got) {
			t.Fatalf("disabled user %+v (%v): MayLogIn and MayResetPassword must say no", got, err)
		}
		if _, err := users.ChangeAccount(ctx, kura.OperatorActor("t"), u.ID, kura.AccountChange{Disabled: &on}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Login(ctx, "kim", "password-1"); err != nil {
			t.Fatalf("login after enable: %v", err)
		}
		got, _ = users.FindUserByID(ctx, u.ID)
		if !accounts.MayLogIn(got) || !accounts.MayResetPassword(got) {
			t.Fatalf("enabled user %+v: MayLogIn and MayResetPassword must say yes", got)
		}
	})
}
