package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzRequestBody sends arbitrary bodies to the endpoints that decode JSON:
// whatever arrives, the answer is a client error or success in the JSON
// error shape, never a 500 or a panic.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@example.com","username":"ann","password":"correct horse"}`,
		`{"login":"ann","password":"x"}`, `{"email":1}`, `[]`, `null`, `{"a":`, `{} {}`, "\xff",
		`{"username":"x","username":"y"}`, `{"password":"` + strings.Repeat("p", 200) + `"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newEnv(t)
		_, tok := e.mustUser("fuzzer", false)
		for _, rt := range []struct{ method, path, token string }{
			{"POST", "/api/users", ""},
			{"POST", "/api/auth/login", ""},
			{"PATCH", "/api/users/1", tok},
		} {
			w := e.do(rt.method, rt.path, body, rt.token)
			if w.Code >= 500 {
				t.Fatalf("%s %s with %q: status %d: %s", rt.method, rt.path, body, w.Code, w.Body)
			}
			if w.Code >= 400 {
				mustError(t, w, w.Code, errorCodeFor(w.Code))
			} else if w.Code != http.StatusOK && w.Code != http.StatusCreated {
				t.Fatalf("unexpected status %d", w.Code)
			}
		}
	})
}

func errorCodeFor(status int) string {
	return map[int]string{400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
		409: "conflict", 413: "too_large", 422: "invalid"}[status]
}
