package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	publicKeys  = "created_at,id,username"
	privateKeys = "created_at,email,email_verified_at,id,role,updated_at,username"
)

func TestCreateUser(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("POST", "/api/users", map[string]string{
			"email": " Ann@Example.com ", "username": "ann", "password": "correct horse",
		}, "")
		mustStatus(t, w, http.StatusCreated)
		if got := w.Header().Get("Location"); got != "/api/users/1" {
			t.Errorf("Location = %q", got)
		}
		if got := keysOf(t, w); got != privateKeys {
			t.Errorf("keys = %s, want %s", got, privateKeys)
		}
		var u map[string]any
		mustDecode(t, w, &u)
		if u["id"] != 1.0 || u["email"] != "ann@example.com" || u["role"] != "user" {
			t.Errorf("body = %s", w.Body)
		}
		// RFC 3339 in UTC, whatever the store's zone.
		ts, err := time.Parse(time.RFC3339Nano, u["created_at"].(string))
		if err != nil || !strings.HasSuffix(u["created_at"].(string), "Z") || ts.IsZero() {
			t.Errorf("created_at = %v (%v)", u["created_at"], err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("POST", "/api/users", map[string]string{"email": "nope", "username": "a", "password": "short"}, "")
		got := mustError(t, w, http.StatusUnprocessableEntity, "invalid")
		for _, f := range []string{"email", "username", "password"} {
			if got.Error.Fields[f] == "" {
				t.Errorf("no message for field %s: %s", f, w.Body)
			}
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t)
		e.mustRegister("ann")
		w := e.do("POST", "/api/users", map[string]string{"email": "other@example.com", "username": "ANN", "password": "correct horse"}, "")
		got := mustError(t, w, http.StatusConflict, "conflict")
		if got.Error.Fields["username"] == "" || len(got.Error.Fields) != 1 {
			t.Errorf("fields = %v, want username", got.Error.Fields)
		}
		w = e.do("POST", "/api/users", map[string]string{"email": "ANN@example.com", "username": "bob", "password": "correct horse"}, "")
		if got := mustError(t, w, http.StatusConflict, "conflict"); got.Error.Fields["email"] == "" {
			t.Errorf("fields = %v, want email", got.Error.Fields)
		}
	})
	t.Run("ErrRoleIsUnknownField", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("POST", "/api/users", `{"email":"a@example.com","username":"ann","password":"correct horse","role":"admin"}`, "")
		if got := mustError(t, w, http.StatusBadRequest, "bad_request"); got.Error.Fields["role"] == "" {
			t.Errorf("fields = %v, want role", got.Error.Fields)
		}
	})
}

func TestGetUser(t *testing.T) {
	e := newEnv(t)
	annID, annTok := e.mustUser("ann", false)
	_, bobTok := e.mustUser("bob", false)
	_, adminTok := e.mustUser("root", true)
	path := fmt.Sprintf("/api/users/%d", annID)

	for _, tt := range []struct {
		name, token, keys string
	}{
		{"Anonymous", "", publicKeys},
		{"Self", annTok, privateKeys},
		{"Other", bobTok, publicKeys},
		{"Admin", adminTok, privateKeys},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do("GET", path, nil, tt.token)
			mustStatus(t, w, http.StatusOK)
			if got := keysOf(t, w); got != tt.keys {
				t.Errorf("keys = %s, want %s", got, tt.keys)
			}
		})
	}
	t.Run("ErrBadToken", func(t *testing.T) {
		w := e.do("GET", path, nil, "garbage")
		mustError(t, w, http.StatusUnauthorized, "unauthorized")
		if got := w.Header().Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
	t.Run("ErrGarbledAuthorization", func(t *testing.T) {
		for _, h := range []string{"Basic abc", "Bearer", "Bearer ", "Bearer a b"} {
			w := e.doHeader("GET", path, "Authorization", h)
			mustError(t, w, http.StatusUnauthorized, "unauthorized")
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, p := range []string{"/api/users/999", "/api/users/0", "/api/users/-1", "/api/users/abc", "/api/users/+1", "/api/users/99999999999999999999"} {
			w := e.do("GET", p, nil, "")
			mustError(t, w, http.StatusNotFound, "not_found")
		}
	})
}

func TestMe(t *testing.T) {
	e := newEnv(t)
	_, tok := e.mustUser("ann", false)
	w := e.do("GET", "/api/users/me", nil, tok)
	mustStatus(t, w, http.StatusOK)
	if got := keysOf(t, w); got != privateKeys {
		t.Errorf("keys = %s", got)
	}
	mustError(t, e.do("GET", "/api/users/me", nil, ""), http.StatusUnauthorized, "unauthorized")
	mustError(t, e.do("GET", "/api/users/me", nil, "nope"), http.StatusUnauthorized, "unauthorized")
}

func TestUpdateUser(t *testing.T) {
	e := newEnv(t)
	annID, annTok := e.mustUser("ann", false)
	bobID, bobTok := e.mustUser("bob", false)
	_, adminTok := e.mustUser("root", true)
	ann := fmt.Sprintf("/api/users/%d", annID)

	t.Run("Self", func(t *testing.T) {
		w := e.do("PATCH", ann, map[string]string{"username": "annie"}, annTok)
		mustStatus(t, w, http.StatusOK)
		var u map[string]any
		mustDecode(t, w, &u)
		if u["username"] != "annie" || u["updated_at"] == u["created_at"] {
			t.Errorf("body = %s", w.Body)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		mustError(t, e.do("PATCH", ann, map[string]string{"username": "x_x"}, bobTok), http.StatusForbidden, "forbidden")
		// Another user's id that does not exist is 403 too: no probing.
		mustError(t, e.do("PATCH", "/api/users/999", map[string]string{"username": "x_x"}, bobTok), http.StatusForbidden, "forbidden")
	})
	t.Run("Admin", func(t *testing.T) {
		w := e.do("PATCH", ann, map[string]string{"email": "ann2@example.com"}, adminTok)
		mustStatus(t, w, http.StatusOK)
		if got := keysOf(t, w); got != privateKeys {
			t.Errorf("keys = %s", got)
		}
	})
	t.Run("AdminErrNotFound", func(t *testing.T) {
		mustError(t, e.do("PATCH", "/api/users/999", map[string]string{"username": "x_x"}, adminTok), http.StatusNotFound, "not_found")
	})
	t.Run("ErrConflict", func(t *testing.T) {
		w := e.do("PATCH", ann, map[string]string{"username": "BOB"}, annTok)
		if got := mustError(t, w, http.StatusConflict, "conflict"); got.Error.Fields["username"] == "" {
			t.Errorf("fields = %v", got.Error.Fields)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		w := e.do("PATCH", ann, map[string]string{"email": "bad"}, annTok)
		if got := mustError(t, w, http.StatusUnprocessableEntity, "invalid"); got.Error.Fields["email"] == "" {
			t.Errorf("fields = %v", got.Error.Fields)
		}
		mustError(t, e.do("PATCH", ann, `{}`, annTok), http.StatusUnprocessableEntity, "invalid")
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		mustError(t, e.do("PATCH", ann, map[string]string{"username": "zed"}, ""), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("PasswordChangeEndsOtherSessions", func(t *testing.T) {
		other := e.mustLogin("bob")
		w := e.do("PATCH", fmt.Sprintf("/api/users/%d", bobID), map[string]string{"password": "another horse", "current_password": "correct horse"}, bobTok)
		mustStatus(t, w, http.StatusOK)
		mustError(t, e.do("GET", "/api/users/me", nil, other), http.StatusUnauthorized, "unauthorized")
		mustStatus(t, e.do("GET", "/api/users/me", nil, bobTok), http.StatusOK) // the session that made it
	})
}

func TestDeleteUser(t *testing.T) {
	e := newEnv(t)
	annID, annTok := e.mustUser("ann", false)
	bobID, bobTok := e.mustUser("bob", false)
	_, adminTok := e.mustUser("root", true)

	mustError(t, e.do("DELETE", fmt.Sprintf("/api/users/%d", annID), nil, bobTok), http.StatusForbidden, "forbidden")
	mustError(t, e.do("DELETE", fmt.Sprintf("/api/users/%d", annID), nil, ""), http.StatusUnauthorized, "unauthorized")

	w := e.do("DELETE", fmt.Sprintf("/api/users/%d", annID), nil, annTok)
	mustStatus(t, w, http.StatusNoContent)
	if w.Body.Len() != 0 {
		t.Errorf("204 with a body: %s", w.Body)
	}
	mustError(t, e.do("GET", fmt.Sprintf("/api/users/%d", annID), nil, ""), http.StatusNotFound, "not_found")
	mustError(t, e.do("GET", "/api/users/me", nil, annTok), http.StatusUnauthorized, "unauthorized")

	mustStatus(t, e.do("DELETE", fmt.Sprintf("/api/users/%d", bobID), nil, adminTok), http.StatusNoContent)
	mustError(t, e.do("DELETE", fmt.Sprintf("/api/users/%d", bobID), nil, adminTok), http.StatusNotFound, "not_found")
}

func TestListUsers(t *testing.T) {
	e := newEnv(t)
	_, tok := e.mustUser("user0", false)
	for i := 1; i < 5; i++ {
		e.mustRegister(fmt.Sprintf("user%d", i))
	}
	_, adminTok := e.mustUser("root", true) // id 6, newest

	t.Run("Keyset", func(t *testing.T) {
		var ids []float64
		cursor, pages := "", 0
		for {
			path := "/api/users?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			w := e.do("GET", path, nil, tok)
			mustStatus(t, w, http.StatusOK)
			var body struct {
				Items      []map[string]any `json:"items"`
				NextCursor *string          `json:"next_cursor"`
			}
			mustDecode(t, w, &body)
			if !strings.Contains(w.Body.String(), `"next_cursor":`) {
				t.Fatalf("next_cursor missing: %s", w.Body)
			}
			for _, it := range body.Items {
				if _, ok := it["email"]; ok != (it["id"] == 1.0) {
					t.Fatalf("a user must see their own private view, others' public: %s", w.Body)
				}
				ids = append(ids, it["id"].(float64))
			}
			pages++
			if body.NextCursor == nil {
				break
			}
			cursor = *body.NextCursor
		}
		if fmt.Sprint(ids) != "[6 5 4 3 2 1]" || pages != 3 {
			t.Errorf("ids = %v over %d pages", ids, pages)
		}
	})
	t.Run("Offset", func(t *testing.T) {
		w := e.do("GET", "/api/users?page=2&per_page=4", nil, adminTok)
		mustStatus(t, w, http.StatusOK)
		var body struct {
			Items   []map[string]any `json:"items"`
			Page    int              `json:"page"`
			PerPage int              `json:"per_page"`
			Total   int64            `json:"total"`
		}
		mustDecode(t, w, &body)
		if len(body.Items) != 2 || body.Page != 2 || body.PerPage != 4 || body.Total != 6 {
			t.Errorf("body = %s", w.Body)
		}
		if _, ok := body.Items[0]["email"]; !ok {
			t.Errorf("admin sees public view: %s", w.Body)
		}
	})
	t.Run("EmptyPageHasEmptyItems", func(t *testing.T) {
		w := e.do("GET", "/api/users?page=9", nil, tok)
		mustStatus(t, w, http.StatusOK)
		if !strings.Contains(w.Body.String(), `"items":[]`) {
			t.Errorf("body = %s", w.Body)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for query, field := range map[string]string{
			"per_page=0":           "per_page",
			"per_page=101":         "per_page",
			"limit=0":              "limit",
			"limit=101":            "limit",
			"limit=x":              "limit",
			"page=0":               "page",
			"page=-2":              "page",
			"cursor=garbage!!":     "cursor",
			"cursor=aWQ6MA":        "cursor", // "id:0"
			"page=1&cursor=aWQ6Mw": "cursor",
			"per_page=5&limit=5":   "limit",
		} {
			w := e.do("GET", "/api/users?"+query, nil, tok)
			if got := mustError(t, w, http.StatusUnprocessableEntity, "invalid"); got.Error.Fields[field] == "" {
				t.Errorf("%s: fields = %v, want %s", query, got.Error.Fields, field)
			}
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		mustError(t, e.do("GET", "/api/users", nil, ""), http.StatusUnauthorized, "unauthorized")
	})
}
