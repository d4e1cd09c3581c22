package kura_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

func TestNewUser_Validate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		n := kura.NewUser{Email: "  Ann@Example.COM ", Username: " ann_1.x-y ", Password: "eight ch"}
		n.Normalize()
		if err := n.Validate(); err != nil {
			t.Fatal(err)
		}
		if n.Email != "ann@example.com" || n.Username != "ann_1.x-y" || n.Role != kura.RoleUser {
			t.Fatalf("normalized = %+v", n)
		}
	})
	tests := []struct {
		name  string
		in    kura.NewUser
		field string
	}{
		{"ErrEmailMissing", kura.NewUser{Username: "ann", Password: "password1"}, "email"},
		{"ErrEmailNoAt", kura.NewUser{Email: "ann.example.com", Username: "ann", Password: "password1"}, "email"},
		{"ErrEmailNoDot", kura.NewUser{Email: "ann@localhost", Username: "ann", Password: "password1"}, "email"},
		{"ErrEmailWithName", kura.NewUser{Email: "Ann <ann@example.com>", Username: "ann", Password: "password1"}, "email"},
		{"ErrEmailTooLong", kura.NewUser{Email: strings.Repeat("a", 250) + "@example.com", Username: "ann", Password: "password1"}, "email"},
		{"ErrUsernameShort", kura.NewUser{Email: "a@example.com", Username: "an", Password: "password1"}, "username"},
		{"ErrUsernameLong", kura.NewUser{Email: "a@example.com", Username: strings.Repeat("a", 33), Password: "password1"}, "username"},
		{"ErrUsernameSpace", kura.NewUser{Email: "a@example.com", Username: "an n", Password: "password1"}, "username"},
		{"ErrUsernameAt", kura.NewUser{Email: "a@example.com", Username: "ann@x", Password: "password1"}, "username"},
		{"ErrUsernameNonASCII", kura.NewUser{Email: "a@example.com", Username: "ännä", Password: "password1"}, "username"},
		{"ErrPasswordShort", kura.NewUser{Email: "a@example.com", Username: "ann", Password: "1234567"}, "password"},
		{"ErrPasswordLong", kura.NewUser{Email: "a@example.com", Username: "ann", Password: strings.Repeat("x", 129)}, "password"},
		{"ErrPasswordNUL", kura.NewUser{Email: "a@example.com", Username: "ann", Password: "pass\x00word"}, "password"},
		{"ErrPasswordBadUTF8", kura.NewUser{Email: "a@example.com", Username: "ann", Password: "pass\xffword"}, "password"},
		{"ErrEmailNUL", kura.NewUser{Email: "a\x00@example.com", Username: "ann", Password: "password1"}, "email"},
		{"ErrUsernameNUL", kura.NewUser{Email: "a@example.com", Username: "an\x00n", Password: "password1"}, "username"},
		{"ErrRole", kura.NewUser{Email: "a@example.com", Username: "ann", Password: "password1", Role: "root"}, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if kura.ErrorCode(err) != kura.EINVALID {
				t.Fatalf("code = %q, want invalid (%v)", kura.ErrorCode(err), err)
			}
			fields := kura.ErrorFields(err)
			if len(fields) != 1 || fields[tt.field] == "" {
				t.Fatalf("fields = %v, want only %q", fields, tt.field)
			}
		})
	}
	t.Run("AllFieldsAtOnce", func(t *testing.T) {
		err := (&kura.NewUser{Role: kura.RoleUser}).Validate()
		if f := kura.ErrorFields(err); len(f) != 3 {
			t.Fatalf("fields = %v, want email, username and password", f)
		}
	})
}

func TestUserUpdate(t *testing.T) {
	email, name := " B@Example.com", " bob "
	u := kura.UserUpdate{Email: &email, Username: &name}
	u.Normalize()
	if *u.Email != "b@example.com" || *u.Username != "bob" || u.Empty() {
		t.Fatalf("normalized = %q %q", *u.Email, *u.Username)
	}
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	short := "short"
	if f := kura.ErrorFields((&kura.UserUpdate{Password: &short}).Validate()); f["password"] == "" {
		t.Fatalf("fields = %v", f)
	}
	if !(&kura.UserUpdate{}).Empty() {
		t.Fatal("an update with no fields must be empty")
	}
}

func TestUser_CanModify(t *testing.T) {
	user := &kura.User{ID: 1, Role: kura.RoleUser}
	admin := &kura.User{ID: 2, Role: kura.RoleAdmin}
	var nobody *kura.User
	if !user.CanModify(1) || user.CanModify(2) || !admin.CanModify(1) || nobody.CanModify(1) {
		t.Fatal("CanModify: self or admin only")
	}
}

func TestNotification_Validate(t *testing.T) {
	ok := kura.Notification{UserID: 1, Kind: "welcome", Key: "welcome:1", Message: "Welcome, ann!"}
	t.Run("OK", func(t *testing.T) {
		if err := ok.Validate(); err != nil {
			t.Fatal(err)
		}
		n := ok
		n.Kind, n.Key, n.Message = strings.Repeat("é", 50), strings.Repeat("k", 200), strings.Repeat("日", 2000)
		if err := n.Validate(); err != nil {
			t.Fatalf("the longest values: %v", err)
		}
	})
	tests := []struct {
		name  string
		edit  func(n *kura.Notification)
		field string
	}{
		{"ErrUserIDZero", func(n *kura.Notification) { n.UserID = 0 }, "user_id"},
		{"ErrUserIDNegative", func(n *kura.Notification) { n.UserID = -1 }, "user_id"},
		{"ErrKindMissing", func(n *kura.Notification) { n.Kind = "" }, "kind"},
		{"ErrKindLong", func(n *kura.Notification) { n.Kind = strings.Repeat("k", 51) }, "kind"},
		{"ErrKeyMissing", func(n *kura.Notification) { n.Key = "" }, "key"},
		{"ErrKeyLong", func(n *kura.Notification) { n.Key = strings.Repeat("é", 201) }, "key"},
		{"ErrKeyNUL", func(n *kura.Notification) { n.Key = "a\x00b" }, "key"},
		{"ErrMessageMissing", func(n *kura.Notification) { n.Message = "" }, "message"},
		{"ErrMessageLong", func(n *kura.Notification) { n.Message = strings.Repeat("m", 2001) }, "message"},
		{"ErrMessageBadUTF8", func(n *kura.Notification) { n.Message = "caf\xe9" }, "message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := ok
			tt.edit(&n)
			err := n.Validate()
			if kura.ErrorCode(err) != kura.EINVALID {
				t.Fatalf("code = %q, want invalid (%v)", kura.ErrorCode(err), err)
			}
			fields := kura.ErrorFields(err)
			if len(fields) != 1 || fields[tt.field] == "" {
				t.Fatalf("fields = %v, want only %q", fields, tt.field)
			}
		})
	}
	t.Run("AllFieldsAtOnce", func(t *testing.T) {
		err := (&kura.Notification{}).Validate()
		if f := kura.ErrorFields(err); len(f) != 4 {
			t.Fatalf("fields = %v, want user_id, kind, key and message", f)
		}
	})
}

func TestValidateLogin(t *testing.T) {
	for _, ok := range []string{"ann", "ann@example.com", "ännä"} {
		if err := kura.ValidateLogin(ok); err != nil {
			t.Errorf("ValidateLogin(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"ann\x00", "\xffann"} {
		err := kura.ValidateLogin(bad)
		if kura.ErrorCode(err) != kura.EINVALID || kura.ErrorFields(err)["login"] == "" {
			t.Errorf("ValidateLogin(%q) = %v, want invalid naming login", bad, err)
		}
	}
}

func TestListOptions_Normalize(t *testing.T) {
	o := kura.ListOptions{}
	if err := o.Normalize(); err != nil || o.Limit != 20 || o.PerPage != 20 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	for _, bad := range []kura.ListOptions{{Limit: 101}, {Limit: -1}, {PerPage: 101, Page: 1}, {Page: -1}, {Page: kura.MaxPage + 1}, {Page: 1, Cursor: "x"}} {
		if kura.ErrorCode(bad.Normalize()) != kura.EINVALID {
			t.Errorf("%+v: want invalid", bad)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, id := range []int64{1, 42, 1<<63 - 1} {
		got, err := kura.DecodeCursor(kura.EncodeCursor(id))
		if err != nil || got != id {
			t.Fatalf("round trip of %d: %d %v", id, got, err)
		}
	}
	for _, bad := range []string{"", "!!", "aWQ6", "aWQ6MA", "aWQ6LTE", "eDox", "aWQ6eA"} {
		if _, err := kura.DecodeCursor(bad); kura.ErrorCode(err) != kura.EINVALID {
			t.Errorf("DecodeCursor(%q): want invalid, got %v", bad, err)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(kura.EncodeCursor(7))
	f.Add("aWQ6LTE")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := kura.DecodeCursor(s)
		if err != nil {
			if kura.ErrorCode(err) != kura.EINVALID {
				t.Fatalf("error code %q", kura.ErrorCode(err))
			}
			return
		}
		if id <= 0 {
			t.Fatalf("accepted non-positive id %d", id)
		}
		if again, _ := kura.DecodeCursor(kura.EncodeCursor(id)); again != id {
			t.Fatalf("round trip %d -> %d", id, again)
		}
	})
}

func TestError(t *testing.T) {
	cause := errors.New("pq: connection reset")
	err := fmt.Errorf("find user: %w", &kura.Error{Code: kura.ENOTFOUND, Message: "User not found.", Err: cause})
	if kura.ErrorCode(err) != kura.ENOTFOUND || kura.ErrorMessage(err) != "User not found." || !errors.Is(err, cause) {
		t.Fatalf("wrapped error lost its code, message or cause: %v", err)
	}
	plain := errors.New("disk on fire at /var/lib/secret")
	if kura.ErrorCode(plain) != kura.EINTERNAL || strings.Contains(kura.ErrorMessage(plain), "disk") {
		t.Fatal("a plain error must be internal with a generic message")
	}
	if kura.ErrorCode(nil) != "" || kura.ErrorMessage(nil) != "" {
		t.Fatal("nil error must have no code")
	}
	fe := kura.FieldError(kura.ECONFLICT, "email", "is already taken")
	if kura.ErrorFields(fe)["email"] != "is already taken" {
		t.Fatal("FieldError lost its field")
	}
}
