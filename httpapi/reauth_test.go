package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
// password through PATCH, by a stolen token used elsewhere, take from the
// account's allowance of password checks, the one its logins take from:
// the same wait and the same 429, whichever way the guesses come.
func TestUpdateUser_CurrentPasswordLimited(t *testing.T) {
	e := newEnv(t)
	annID := e.mustRegister("ann")
	ann := fmt.Sprintf("/api/users/%d", annID)
	const home, thief = "192.0.2.1:1000", "203.0.113.66:1000"
	body, _ := json.Marshal(map[string]string{"login": "ann", "password": "correct horse"})
	w := e.from(home, httptest.NewRequest("POST", "/api/auth/login", bytes.NewReader(body)))
	mustStatus(t, w, http.StatusOK) // 1 of the account's 10
	var out struct{ Token string }
	mustDecode(t, w, &out)
	patch := func(addr string, fields map[string]string) *httptest.ResponseRecorder {
		raw, _ := json.Marshal(fields)
		req := httptest.NewRequest("PATCH", ann, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+out.Token)
		return e.from(addr, req)
	}
	for i := range 9 {
		// An unchanged username needs no password, but one given is checked.
		mustError(t, patch(thief, map[string]string{"username": "ann", "current_password": fmt.Sprint("guess ", i)}),
			http.StatusUnprocessableEntity, "invalid")
	}
	// The 11th check is 90 s away (10/15m): beyond MaxLoginDelay, refused.
	mustRetryAfter(t, patch(thief, map[string]string{"password": "another horse", "current_password": "correct horse"}), 90)
	mustRetryAfter(t, e.login(thief, "ann", "correct horse"), 90)
	mustRetryAfter(t, e.login("198.51.100.1:1000", "ann@example.com", "correct horse"), 90)
	// A missing password is no check, and is still named.
	mustError(t, patch(thief, map[string]string{"password": "another horse"}), http.StatusUnprocessableEntity, "invalid")
	// The owner, at home, has an allowance of their own.
	mustStatus(t, patch(home, map[string]string{"password": "another horse", "current_password": "correct horse"}), http.StatusOK)
	mustStatus(t, e.login(home, "ann", "another horse"), http.StatusOK)
}
