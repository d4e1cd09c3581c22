package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestUpdateUser_CurrentPassword checks that users changing their own
// email or password confirm it with current_password, and that an admin
// changing another user needs none and is logged without the values.
func TestUpdateUser_CurrentPassword(t *testing.T) {
	e := newEnv(t)
	annID, annTok := e.mustUser("ann", false)
	ann := fmt.Sprintf("/api/users/%d", annID)
	rootID, rootTok := e.mustUser("root", true)

	for _, body := range []map[string]string{
		{"email": "ann2@example.com"},
		{"password": "another horse"},
		{"password": "another horse", "current_password": ""},
	} {
		got := mustError(t, e.do("PATCH", ann, body, annTok), http.StatusUnprocessableEntity, "invalid")
		if got.Error.Fields["current_password"] != "is required to change your email or password" {
			t.Errorf("%v: fields = %v", body, got.Error.Fields)
		}
	}
	got := mustError(t, e.do("PATCH", ann, map[string]string{"email": "ann2@example.com", "current_password": "wrong horse"}, annTok),
		http.StatusUnprocessableEntity, "invalid")
	if got.Error.Fields["current_password"] != "is not your current password" || len(got.Error.Fields) != 1 {
		t.Errorf("wrong current_password: fields = %v", got.Error.Fields)
	}
	// A username is not a credential: no password needed.
	mustStatus(t, e.do("PATCH", ann, map[string]string{"username": "annie"}, annTok), http.StatusOK)
	mustStatus(t, e.do("PATCH", ann, map[string]string{"email": "ann2@example.com", "current_password": "correct horse"}, annTok), http.StatusOK)

	// An admin changing another user: exempt, and logged with both ids.
	mustStatus(t, e.do("PATCH", ann, map[string]string{"email": "secret-ann@example.com", "password": "admin set horse"}, rootTok), http.StatusOK)
	logs := e.logs.String()
	line := ""
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"admin changed a user"`) {
			line = l
		}
	}
	want := fmt.Sprintf(`"admin_id":%d,"user_id":%d,"fields":"email,password"`, rootID, annID)
	if !strings.Contains(line, `"level":"INFO"`) || !strings.Contains(line, want) {
		t.Errorf("no info line with %s in the log:\n%s", want, logs)
	}
	if strings.Contains(logs, "secret-ann") || strings.Contains(logs, "admin set horse") {
		t.Error("the log holds a changed value")
	}
	mustError(t, e.do("GET", "/api/users/me", nil, annTok), http.StatusUnauthorized, "unauthorized") // the admin's password change ended ann's sessions

	// Admins changing their own password confirm it like anyone.
	root := fmt.Sprintf("/api/users/%d", rootID)
	mustError(t, e.do("PATCH", root, map[string]string{"password": "another horse"}, rootTok), http.StatusUnprocessableEntity, "invalid")
}

// TestUpdateUser_CurrentPasswordLimited checks that guesses of the current
// password through PATCH are limited per user, like logins.
func TestUpdateUser_CurrentPasswordLimited(t *testing.T) {
	e := newEnv(t)
	annID, annTok := e.mustUser("ann", false)
	ann := fmt.Sprintf("/api/users/%d", annID)
	for i := range 10 {
		mustError(t, e.do("PATCH", ann, map[string]string{"password": "another horse", "current_password": fmt.Sprint("guess ", i)}, annTok),
			http.StatusUnprocessableEntity, "invalid")
	}
	w := e.do("PATCH", ann, map[string]string{"password": "another horse", "current_password": "correct horse"}, annTok)
	mustError(t, w, http.StatusTooManyRequests, "rate_limited")
	if w.Header().Get("Retry-After") != "18" {
		t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
	}
}
