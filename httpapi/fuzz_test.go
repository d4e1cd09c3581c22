package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestBody sends arbitrary bodies to the JSON routes: the answer is
// always one of the documented statuses with a JSON body, never a 500.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{`{"email":"a@example.com","username":"ann","password":"correct horse"}`,
		`{`, `[]`, `null`, `{"a":1}`, `{"email":5}`, `{} {}`, "\xff", `{"login":"ann","password":"x"}`} {
		f.Add(s)
	}
	allowed := map[int]bool{200: true, 201: true, 400: true, 401: true, 409: true, 413: true, 422: true}
	f.Fuzz(func(t *testing.T, body string) {
		e := newEnv(t)
		for _, path := range []string{"/api/users", "/api/auth/login"} {
			w := e.serve(httptest.NewRequest("POST", path, strings.NewReader(body)))
			if !allowed[w.Code] || !json.Valid(w.Body.Bytes()) {
				t.Fatalf("POST %s %q: %d %s", path, body, w.Code, w.Body)
			}
		}
	})
}
