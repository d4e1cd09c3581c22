package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

// fixedStats is a kura.StatsService with constant figures.
type fixedStats struct{}

func (fixedStats) Stats(context.Context) (*kura.Stats, error) { return &kura.Stats{Users: 1}, nil }

// TestCacheControl checks that every response holding something private,
// and every error, says no-store, and that the public view says no-cache.
func TestCacheControl(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.Notifications = c.Users.(*fakeStore)
		c.Stats = fixedStats{}
	})
	w := e.do("POST", "/api/users", map[string]string{
		"email": "ann@example.com", "username": "ann", "password": "correct horse",
	}, "")
	mustCacheControl(t, "register", w.Result(), http.StatusCreated, "no-store")
	w = e.do("POST", "/api/auth/login", map[string]string{"login": "ann", "password": "correct horse"}, "")
	mustCacheControl(t, "login", w.Result(), http.StatusOK, "no-store")
	tok := e.mustLogin("ann")
	_, bobTok := e.mustUser("bob", false)
	_, adminTok := e.mustUser("root", true)

	for _, tt := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		want                      string
	}{
		{"Me", "GET", "/api/users/me", tok, nil, 200, "no-store"},
		{"PrivateView", "GET", "/api/users/1", tok, nil, 200, "no-store"},
		{"PublicViewAnonymous", "GET", "/api/users/1", "", nil, 200, "no-cache"},
		{"PublicViewOtherUser", "GET", "/api/users/1", bobTok, nil, 200, "no-cache"},
		{"Patch", "PATCH", "/api/users/1", tok, map[string]string{"username": "annie"}, 200, "no-store"},
		{"ListKeyset", "GET", "/api/users?limit=5", tok, nil, 200, "no-store"},
		{"ListOffset", "GET", "/api/users?page=1", tok, nil, 200, "no-store"},
		{"Notifications", "GET", "/api/users/1/notifications", tok, nil, 200, "no-store"},
		{"Stats", "GET", "/api/stats", adminTok, nil, 200, "no-store"},
		{"StatsForbidden", "GET", "/api/stats", tok, nil, 403, "no-store"},
		{"Health", "GET", "/health", "", nil, 200, "no-store"},
		{"ErrUnauthorized", "GET", "/api/users/me", "", nil, 401, "no-store"},
		{"ErrForbidden", "PATCH", "/api/users/1", bobTok, map[string]string{"username": "x"}, 403, "no-store"},
		{"ErrNotFound", "GET", "/nope", "", nil, 404, "no-store"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(tt.method, tt.path, tt.body, tt.token)
			mustCacheControl(t, tt.name, w.Result(), tt.status, tt.want)
		})
	}
}

func mustCacheControl(t *testing.T, what string, resp *http.Response, status int, want string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d", what, resp.StatusCode, status)
	}
	if got := resp.Header.Values("Cache-Control"); fmt.Sprint(got) != fmt.Sprint([]string{want}) {
		t.Errorf("%s: Cache-Control = %q, want %q", what, got, want)
	}
}
