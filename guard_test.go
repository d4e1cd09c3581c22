package kura_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kura-dev/kura"
)

func TestGuardPasswordCheck(t *testing.T) {
	ctx := context.Background()
	if err := kura.GuardPasswordCheck(ctx, kura.UserAccount(1)); err != nil {
		t.Fatalf("no guard: %v", err)
	}
	refused := errors.New("refused")
	var got []string
	ctx = kura.WithPasswordGuard(ctx, func(_ context.Context, account string) error {
		got = append(got, account)
		if account == kura.UnknownAccount("zed@example.com") {
			return refused
		}
		return nil
	})
	if err := kura.GuardPasswordCheck(ctx, kura.UserAccount(42)); err != nil {
		t.Fatal(err)
	}
	if err := kura.GuardPasswordCheck(ctx, kura.UnknownAccount("zed@example.com")); err != refused {
		t.Fatalf("the guard's error was not returned as is: %v", err)
	}
	if len(got) != 2 || got[0] != "user:42" || got[1] != "login:zed@example.com" || kura.UserAccount(42) == kura.UnknownAccount("42") {
		t.Fatalf("accounts %q", got)
	}
}
