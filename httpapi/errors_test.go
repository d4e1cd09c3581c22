package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

func TestErrorStatus(t *testing.T) {
	for code, want := range map[string]int{
		kura.EINVALID: 422, kura.EBADREQUEST: 400, kura.EUNAUTHORIZED: 401,
		kura.EFORBIDDEN: 403, kura.ENOTFOUND: 404, kura.ECONFLICT: 409,
		kura.ETOOLARGE: 413, kura.ERATELIMITED: 429, kura.EUNAVAILABLE: 503,
		kura.EINTERNAL: 500, kura.EINPROGRESS: 409, kura.EKEYREUSED: 422, "made_up": 500,
	} {
		if got := httpapi.ErrorStatus(code); got != want {
			t.Errorf("ErrorStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

// TestServiceErrors checks how errors from a service reach the client.
func TestServiceErrors(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"Unavailable", kura.Errorf(kura.EUNAVAILABLE, "The database is busy."), 503, "unavailable", "1"},
		{"RateLimited", kura.Errorf(kura.ERATELIMITED, "Slow down."), 429, "rate_limited", "1"},
		{"Deadline", fmt.Errorf("find: %w", context.DeadlineExceeded), 503, "unavailable", "1"},
		{"Internal", errors.New("dial tcp 10.0.0.1: password=hunter2 rejected"), 500, "internal", ""},
		{"InternalCoded", &kura.Error{Code: kura.EINTERNAL, Message: "secret detail", Err: errors.New("hunter2")}, 500, "internal", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			id := e.mustRegister("ann")
			e.store.findHook = func(context.Context, int64) error { return tt.err }
			w := e.do("GET", fmt.Sprintf("/api/users/%d", id), nil, "")
			got := mustError(t, w, tt.status, tt.code)
			if h := w.Header().Get("Retry-After"); h != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", h, tt.retryAfter)
			}
			if tt.status == 500 {
				if got.Error.Message != "Internal error." || strings.Contains(w.Body.String(), "hunter2") {
					t.Errorf("internal error leaked: %s", w.Body)
				}
				if !strings.Contains(e.logs.String(), "hunter2") {
					t.Errorf("cause not logged: %s", e.logs)
				}
			}
		})
	}
}

func TestRequestBody(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"Malformed", `{"email": `, 400, "bad_request", ""},
		{"Syntax", `{"email" "x"}`, 400, "bad_request", ""},
		{"Empty", ``, 400, "bad_request", ""},
		{"NotObject", `["a"]`, 400, "bad_request", ""},
		{"Null", `null`, 400, "bad_request", ""},
		{"UnknownField", `{"email":"a@example.com","nickname":"x"}`, 400, "bad_request", "nickname"},
		{"WrongType", `{"email": 5}`, 400, "bad_request", "email"},
		{"Trailing", `{"email":"a@example.com"} {"x":1}`, 400, "bad_request", ""},
		{"TrailingGarbage", `{"email":"a@example.com"}x`, 400, "bad_request", ""},
		{"TooLarge", `{"email":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "too_large", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do("POST", "/api/users", tt.body, "")
			got := mustError(t, w, tt.status, tt.code)
			if tt.field != "" && got.Error.Fields[tt.field] == "" {
				t.Errorf("fields = %v, want %s", got.Error.Fields, tt.field)
			}
			if tt.field != "" && !strings.Contains(got.Error.Message, tt.field) {
				t.Errorf("message %q does not name %s", got.Error.Message, tt.field)
			}
		})
	}
	t.Run("TooLargeWithoutContentLength", func(t *testing.T) {
		req := newStreamRequest("POST", "/api/users", `{"email":"`+strings.Repeat("a", 1<<20)+`"}`)
		mustError(t, e.serve(req), http.StatusRequestEntityTooLarge, "too_large")
	})
	t.Run("AnyContentType", func(t *testing.T) {
		req := newStreamRequest("POST", "/api/users", `{"email":"b@example.com","username":"bee","password":"correct horse"}`)
		req.Header.Set("Content-Type", "text/plain")
		mustStatus(t, e.serve(req), http.StatusCreated)
	})
}

func TestNoRoute(t *testing.T) {
	e := newEnv(t)
	t.Run("NotFound", func(t *testing.T) {
		for _, p := range []string{"/", "/nope", "/api", "/api/users/1/extra"} {
			mustError(t, e.do("GET", p, nil, ""), http.StatusNotFound, "not_found")
		}
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		for path, allow := range map[string]string{
			"/api/users":      "POST, GET, HEAD",
			"/api/users/1":    "GET, HEAD, PATCH, DELETE",
			"/api/auth/login": "POST",
			"/health":         "GET, HEAD",
		} {
			w := e.do("PUT", path, nil, "")
			mustError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
			if got := w.Header().Get("Allow"); got != allow {
				t.Errorf("%s: Allow = %q, want %q", path, got, allow)
			}
		}
	})
}
