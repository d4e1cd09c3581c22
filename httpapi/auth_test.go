package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.mustRegister("ann")

	t.Run("OK", func(t *testing.T) {
		w := e.do("POST", "/api/auth/login", map[string]string{"login": "ANN@example.com", "password": "correct horse"}, "")
		mustStatus(t, w, http.StatusOK)
		if got := keysOf(t, w); got != "expires_at,token,user" {
			t.Errorf("keys = %s", got)
		}
		var body struct {
			Token     string         `json:"token"`
			ExpiresAt time.Time      `json:"expires_at"`
			User      map[string]any `json:"user"`
		}
		mustDecode(t, w, &body)
		if body.Token == "" || body.ExpiresAt.Location() != time.UTC || body.User["email"] != "ann@example.com" {
			t.Errorf("body = %s", w.Body)
		}
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q", got)
		}
	})
	t.Run("ErrUnauthorizedSameBody", func(t *testing.T) {
		unknown := e.do("POST", "/api/auth/login", map[string]string{"login": "nobody@example.com", "password": "correct horse"}, "")
		wrong := e.do("POST", "/api/auth/login", map[string]string{"login": "ann", "password": "wrong horse"}, "")
		mustError(t, unknown, http.StatusUnauthorized, "unauthorized")
		mustError(t, wrong, http.StatusUnauthorized, "unauthorized")
		if unknown.Body.String() != wrong.Body.String() {
			t.Errorf("bodies differ:\n%s\n%s", unknown.Body, wrong.Body)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		w := e.do("POST", "/api/auth/login", map[string]string{"login": " "}, "")
		got := mustError(t, w, http.StatusUnprocessableEntity, "invalid")
		if got.Error.Fields["login"] == "" || got.Error.Fields["password"] == "" {
			t.Errorf("fields = %v", got.Error.Fields)
		}
	})
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	_, tok := e.mustUser("ann", false)
	mustStatus(t, e.do("GET", "/api/users/me", nil, tok), http.StatusOK)

	w := e.do("POST", "/api/auth/logout", nil, tok)
	mustStatus(t, w, http.StatusNoContent)
	mustError(t, e.do("GET", "/api/users/me", nil, tok), http.StatusUnauthorized, "unauthorized")
	mustError(t, e.do("POST", "/api/auth/logout", nil, tok), http.StatusUnauthorized, "unauthorized")
	mustError(t, e.do("POST", "/api/auth/logout", nil, ""), http.StatusUnauthorized, "unauthorized")
}
