package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/kura-dev/kura"
)

// TestReadJSON_InvalidUTF8 sends strings that are not what they claim, a
// lone surrogate escape or a byte that is not UTF-8, to every route that
// reads a body, kura's and an application's: each is a 422 naming the
// field, and nothing is stored. U+FFFD sent as such and a surrogate pair
// are characters like any other.
func TestReadJSON_InvalidUTF8(t *testing.T) {
	e := newEnv(t)
	appRoutes(e)
	id, token := e.mustUser("ann", false)
	before := len(e.store.users)

	for _, tt := range []struct {
		name, method, path, body, field string
		auth                            bool
	}{
		{"RegisterLoneLow", "POST", "/api/users", `{"email":"bob@example.com","username":"bob","password":"pass\udc80word"}`, "password", false},
		{"RegisterLoneHigh", "POST", "/api/users", `{"email":"b\ud800ob@example.com","username":"bob","password":"password"}`, "email", false},
		{"RegisterRawByte", "POST", "/api/users", "{\"email\":\"bob@example.com\",\"username\":\"b\xffob\",\"password\":\"password\"}", "username", false},
		{"Login", "POST", "/api/auth/login", `{"login":"ann\udc80","password":"correct horse"}`, "login", false},
		{"LoginPassword", "POST", "/api/auth/login", `{"login":"ann","password":"correct horse\ud800"}`, "password", false},
		{"Patch", "PATCH", "/api/users/me", `{"username":"an\udfffn"}`, "username", true},
		{"AppRoute", "POST", "/api/things", `{"name":"lamp\udc80"}`, "name", true},
		{"AppRouteRaw", "POST", "/api/things", "{\"name\":\"lamp\xed\xa0\x80\"}", "name", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := ""
			if tt.auth {
				tok = token
			}
			path := tt.path
			if path == "/api/users/me" {
				path = "/api/users/" + strconv.FormatInt(id, 10)
			}
			got := mustError(t, e.do(tt.method, path, tt.body, tok), http.StatusUnprocessableEntity, kura.EINVALID)
			if got.Error.Fields[tt.field] == "" {
				t.Fatalf("fields = %v; want %s named", got.Error.Fields, tt.field)
			}
		})
	}
	if len(e.store.users) != before {
		t.Fatalf("%d users stored; want %d", len(e.store.users), before)
	}
	if u := e.store.users[id]; u.Username != "ann" {
		t.Fatalf("username changed to %q", u.Username)
	}

	t.Run("FFFDAndPairsAllowed", func(t *testing.T) {
		w := e.do("POST", "/api/users", `{"email":"eve@example.com","username":"eve","password":"pass\ufffdword \ud83d\ude00 `+"\uFFFD"+`"}`, "")
		mustStatus(t, w, http.StatusCreated)
		w = e.do("POST", "/api/auth/login", `{"login":"eve","password":"pass`+"\uFFFD"+`word `+"\U0001F600"+` \uFFFD"}`, "")
		mustStatus(t, w, http.StatusOK)
		w = e.do("POST", "/api/things", `{"name":"\ud83d\ude00\ufffd"}`, token)
		mustStatus(t, w, http.StatusCreated)
	})
}
