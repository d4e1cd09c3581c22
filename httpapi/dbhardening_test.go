package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/sqldb"
)

// TestPage_BeyondTable asks sqldb's services, on every engine, for a page
// whose OFFSET lies far beyond the table: the highest page kura accepts is
// an empty page labelled as asked, the next one a 422 naming page, and
// neither is a 500 or the first page under another number.
func TestPage_BeyondTable(t *testing.T) {
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			e, _ := newDBEnv(t, sqldb.Config{URL: dbtest.URL(t, d)})
			_, token := e.mustUser("ann", false)
			e.mustRegister("bob")

			w := e.do("GET", "/api/users?page=2147483647&per_page=100", nil, token)
			mustStatus(t, w, http.StatusOK)
			var page struct {
				Items   []map[string]any `json:"items"`
				Page    int64            `json:"page"`
				PerPage int              `json:"per_page"`
				Total   int64            `json:"total"`
			}
			mustDecode(t, w, &page)
			if page.Items == nil || len(page.Items) != 0 || page.Page != 2147483647 || page.PerPage != 100 || page.Total != 2 {
				t.Errorf("page beyond the table = %s", w.Body)
			}
			for _, q := range []string{"page=2147483648&per_page=100", "page=9223372036854775807", "page=99999999999999999999"} {
				w := e.do("GET", "/api/users?"+q, nil, token)
				if got := mustError(t, w, http.StatusUnprocessableEntity, "invalid"); got.Error.Fields["page"] == "" {
					t.Errorf("%s: fields = %v, want page", q, got.Error.Fields)
				}
			}
		})
	}
}

// TestEmail_Canonical registers, logs in and changes emails through the
// API on sqldb's services on every engine: an address is stored in one
// form (NFC, lower-cased, the domain mapped by IDNA), its other spellings
// are the same account, and an address that mixes scripts is a 422
// naming email.
func TestEmail_Canonical(t *testing.T) {
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			e, _ := newDBEnv(t, sqldb.Config{URL: dbtest.URL(t, d)})
			register := func(email, username string) *httptest.ResponseRecorder {
				return e.do("POST", "/api/users", map[string]string{"email": email, "username": username, "password": "correct horse"}, "")
			}
			w := register(" Re\u0301my@BÜCHER.de ", "remy")
			mustStatus(t, w, http.StatusCreated)
			var u struct {
				ID    int64
				Email string
			}
			mustDecode(t, w, &u)
			if u.Email != "r\u00e9my@bücher.de" {
				t.Errorf("stored email = %q", u.Email)
			}
			for _, other := range []string{"R\u00c9MY@xn--bcher-kva.de", "re\u0301my@bu\u0308cher.de"} {
				if got := mustError(t, register(other, "other"), http.StatusConflict, "conflict"); got.Error.Fields["email"] == "" {
					t.Errorf("%q: fields = %v, want email", other, got.Error.Fields)
				}
			}
			w = e.do("POST", "/api/auth/login", map[string]string{"login": "RE\u0301MY@xn--BCHER-kva.de", "password": "correct horse"}, "")
			mustStatus(t, w, http.StatusOK)
			var login struct{ Token string }
			mustDecode(t, w, &login)

			// Mixed scripts; invisible, formatting or direction-changing
			// characters; compatibility forms of letters.
			for _, mixed := range []string{"p\u0430ypal@example.com", "ann@ex\u0430mple.com", "ann@xn--pple-43d.com", "\u03bfscar@example.com",
				"an\u200bn@example.com", "ann\u202e@example.com", "ann\u00ad@example.com", "\ufeffann@example.com", "ann\U000e0041@example.com",
				"\uff41nn@example.com", "\ufb01ona@example.com", "\U0001d41ann@example.com", "ann\u00b2@example.com"} {
				if got := mustError(t, register(mixed, "mallory"), http.StatusUnprocessableEntity, "invalid"); got.Error.Fields["email"] == "" {
					t.Errorf("%q: fields = %v, want email", mixed, got.Error.Fields)
				}
			}
			// Letters with diacritics are letters of their own.
			mustStatus(t, register("zo\u00eb.\u0142ukasz@example.com", "zoe"), http.StatusCreated)
			w = e.do("PATCH", fmt.Sprintf("/api/users/%d", u.ID), map[string]string{"email": "r\u0435my@example.com"}, login.Token)
			if got := mustError(t, w, http.StatusUnprocessableEntity, "invalid"); got.Error.Fields["email"] == "" {
				t.Errorf("PATCH: fields = %v, want email", got.Error.Fields)
			}
		})
	}
}
