package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

// fakeAccounts is a kura.AccountService that records its calls and
// follows the interface's documented errors; its one good token is "good".
type fakeAccounts struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeAccounts) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeAccounts) called() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, ";")
}

func validEmail(email string) error {
	e := kura.NormalizeEmail(email)
	return (&kura.UserUpdate{Email: &e}).Validate()
}

func useToken(token string) error {
	if token != "good" {
		return kura.ErrInvalidLink()
	}
	return nil
}

func (f *fakeAccounts) SendVerification(_ context.Context, email string) error {
	f.record("verification " + email)
	return validEmail(email)
}
func (f *fakeAccounts) VerifyEmail(_ context.Context, token string) error {
	f.record("verify")
	return useToken(token)
}
func (f *fakeAccounts) RequestPasswordReset(_ context.Context, email string) error {
	f.record("reset " + email)
	return validEmail(email)
}
func (f *fakeAccounts) ResetPassword(_ context.Context, token, pw string) error {
	f.record("confirm reset")
	if err := (&kura.UserUpdate{Password: &pw}).Validate(); err != nil {
		return err
	}
	return useToken(token)
}
func (f *fakeAccounts) RequestEmailChange(_ context.Context, id int64, email string) error {
	f.record("change " + email)
	return validEmail(email)
}
func (f *fakeAccounts) ConfirmEmailChange(_ context.Context, token string) error {
	f.record("confirm change")
	return useToken(token)
}

func newFlowsEnv(t *testing.T) (*env, *fakeAccounts) {
	f := &fakeAccounts{}
	return newEnv(t, func(c *httpapi.Config) { c.Accounts = f }), f
}

func TestPasswordReset_OneAnswer(t *testing.T) {
	e, f := newFlowsEnv(t)
	e.mustRegister("ann")
	known := e.do("POST", "/api/auth/password-reset", map[string]string{"email": "ann@example.com"}, "")
	unknown := e.do("POST", "/api/auth/password-reset", map[string]string{"email": "nobody@example.com"}, "")
	mustStatus(t, known, http.StatusAccepted)
	mustStatus(t, unknown, http.StatusAccepted)
	if known.Body.String() != unknown.Body.String() || known.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("known %s, unknown %s", known.Body, unknown.Body)
	}
	if got := f.called(); got != "reset ann@example.com;reset nobody@example.com" {
		t.Errorf("calls %q", got)
	}
	mustError(t, e.do("POST", "/api/auth/password-reset", map[string]string{"email": "nope"}, ""), http.StatusUnprocessableEntity, "invalid")
	mustError(t, e.do("POST", "/api/auth/password-reset", `{"email":"a@example.com","x":1}`, ""), http.StatusBadRequest, "bad_request")
}

func TestPasswordReset_RateLimited(t *testing.T) {
	t.Run("PerAddressAskedAbout", func(t *testing.T) {
		e, _ := newFlowsEnv(t)
		for range httpapi.DefaultLinkAccountLimit.Events {
			mustStatus(t, e.do("POST", "/api/auth/password-reset", map[string]string{"email": "Ann@example.com"}, ""), http.StatusAccepted)
		}
		w := e.do("POST", "/api/auth/password-reset", map[string]string{"email": "ann@EXAMPLE.com"}, "")
		mustError(t, w, http.StatusTooManyRequests, "rate_limited")
		// The resend of a verification link shares the allowance.
		mustError(t, e.do("POST", "/api/auth/verify-email/resend", map[string]string{"email": "ann@example.com"}, ""), http.StatusTooManyRequests, "rate_limited")
		mustStatus(t, e.do("POST", "/api/auth/password-reset", map[string]string{"email": "bob@example.com"}, ""), http.StatusAccepted)
	})
	t.Run("PerClientAddress", func(t *testing.T) {
		e, f := newFlowsEnv(t)
		for i := range httpapi.DefaultLinkLimit.Events {
			mustStatus(t, e.do("POST", "/api/auth/password-reset", map[string]string{"email": "u" + string(rune('a'+i)) + "@example.com"}, ""), http.StatusAccepted)
		}
		mustError(t, e.do("POST", "/api/auth/password-reset", map[string]string{"email": "other@example.com"}, ""), http.StatusTooManyRequests, "rate_limited")
		if strings.Contains(f.called(), "other@") {
			t.Error("a refused request reached the service")
		}
	})
}

func TestAccountLinks_OneAnswerForAnyBadToken(t *testing.T) {
	e, _ := newFlowsEnv(t)
	var first string
	for _, c := range []struct{ path, body string }{
		{"/api/auth/verify-email", `{"token":"used"}`},
		{"/api/auth/verify-email", `{}`},
		{"/api/auth/password-reset/confirm", `{"token":"expired","password":"a long passphrase"}`},
		{"/api/auth/email-change/confirm", `{"token":"tampered"}`},
	} {
		w := e.do("POST", c.path, c.body, "")
		got := mustError(t, w, http.StatusBadRequest, "bad_request")
		if got.Error.Message != kura.InvalidLinkMessage {
			t.Errorf("%s: %s", c.path, w.Body)
		}
		if first == "" {
			first = w.Body.String()
		} else if w.Body.String() != first {
			t.Errorf("%s answers %s, not the one answer %s", c.path, w.Body, first)
		}
	}
	for _, path := range []string{"/api/auth/verify-email", "/api/auth/email-change/confirm"} {
		mustStatus(t, e.do("POST", path, map[string]string{"token": "good"}, ""), http.StatusNoContent)
	}
	w := e.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": "good", "password": "short"}, "")
	if got := mustError(t, w, http.StatusUnprocessableEntity, "invalid"); got.Error.Fields["password"] == "" {
		t.Errorf("short password: %s", w.Body)
	}
	mustStatus(t, e.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": "good", "password": "a long passphrase"}, ""), http.StatusNoContent)
}

func TestUpdateUser_EmailChangeConfirmedByLink(t *testing.T) {
	e, f := newFlowsEnv(t)
	id, token := e.mustUser("ann", false)
	path := "/api/users/" + strconv.FormatInt(id, 10)
	// Users changing their own email: 202, nothing changed until the link.
	w := e.do("PATCH", path, map[string]string{"email": "ann.new@example.com", "username": "annie", "current_password": "correct horse"}, token)
	mustStatus(t, w, http.StatusAccepted)
	var got map[string]any
	mustDecode(t, w, &got)
	if got["email"] != "ann@example.com" || got["username"] != "annie" {
		t.Errorf("after the PATCH: %v", got)
	}
	if f.called() != "change ann.new@example.com" {
		t.Errorf("calls %q", f.called())
	}
	// A wrong current password changes nothing and sends nothing.
	w = e.do("PATCH", path, map[string]string{"email": "ann.other@example.com", "current_password": "wrong-password"}, token)
	mustError(t, w, http.StatusUnprocessableEntity, "invalid")
	// A malformed email: 422 before anything changes.
	w = e.do("PATCH", path, map[string]string{"email": "nope", "username": "ann2", "current_password": "correct horse"}, token)
	mustError(t, w, http.StatusUnprocessableEntity, "invalid")
	if f.called() != "change ann.new@example.com" {
		t.Errorf("calls %q", f.called())
	}
	// An admin's change of another user's email is immediate.
	_, admin := e.mustUser("root", true)
	w = e.do("PATCH", path, map[string]string{"email": "ann.admin@example.com"}, admin)
	mustStatus(t, w, http.StatusOK)
	mustDecode(t, w, &got)
	if got["email"] != "ann.admin@example.com" {
		t.Errorf("admin's change: %v", got)
	}
}

func TestAccountRoutes_OffWithoutTheFlows(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/api/auth/verify-email", "/api/auth/verify-email/resend", "/api/auth/password-reset", "/api/auth/password-reset/confirm", "/api/auth/email-change/confirm"} {
		mustError(t, e.do("POST", p, map[string]string{}, ""), http.StatusNotFound, "not_found")
	}
}
