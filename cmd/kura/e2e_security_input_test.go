package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// noRateLimits keeps the attacker-side tests below from meeting the
// registration limit (20 an hour per address), which they do not test.
const noRateLimits = "KURA_RATE_LIMIT=false"

// notUTF8 are the ways a JSON string can claim to be text and not be:
// surrogate escapes that are not half of a pair, and raw bytes that are
// not UTF-8 (a stray continuation byte, a cut sequence, an overlong form,
// a surrogate encoded in three bytes, a byte that never occurs).
var notUTF8 = map[string]string{
	"LoneLow":        `\udc80`,
	"LoneHigh":       `\ud800`,
	"HighThenASCII":  `\ud83dx`,
	"HighThenHigh":   `\ud83d\ud83d`,
	"LowThenHigh":    `\ude00\ud83d`,
	"HighThenEscape": `\ud83d\u0041`,
	"RawFF":          "\xff",
	"RawContinue":    "\x80",
	"RawCut":         "\xe6\x97",
	"RawOverlong":    "\xc0\xaf",
	"RawSurrogate":   "\xed\xa0\x80",
}

// TestSecurity_InvalidUTF8Refused sends each of notUTF8 in every field of
// every route that reads a body, on every engine, through the binary: each
// is a 422 naming the field, and nothing is stored or changed. U+FFFD sent
// as such and a surrogate pair are accepted and stored as sent.
func TestSecurity_InvalidUTF8Refused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		s := startKura(t, "DATABASE_URL="+dbURL, noRateLimits)
		ann := register(t, s, "ann@example.com", "ann")
		tok := login(t, s, "ann", "correct horse battery")
		me := fmt.Sprintf("/api/users/%d", ann.id())
		sent := 0
		for name, bad := range notUTF8 {
			for _, tt := range []struct{ method, path, token, body, field string }{
				{"POST", "/api/users", "", `{"email":"b` + bad + `ob@example.com","username":"bob","password":"correct horse battery"}`, "email"},
				{"POST", "/api/users", "", `{"email":"bob@example.com","username":"bo` + bad + `b","password":"correct horse battery"}`, "username"},
				{"POST", "/api/users", "", `{"email":"bob@example.com","username":"bob","password":"correct horse` + bad + `"}`, "password"},
				{"POST", "/api/auth/login", "", `{"login":"ann` + bad + `","password":"correct horse battery"}`, "login"},
				{"POST", "/api/auth/login", "", `{"login":"ann","password":"correct horse battery` + bad + `"}`, "password"},
				{"PATCH", me, tok, `{"username":"an` + bad + `n"}`, "username"},
				{"PATCH", me, tok, `{"email":"ann` + bad + `@example.com","current_password":"correct horse battery"}`, "email"},
				{"PATCH", me, tok, `{"password":"new password` + bad + `","current_password":"correct horse battery"}`, "password"},
				{"PATCH", me, tok, `{"password":"new password here","current_password":"correct horse battery` + bad + `"}`, "current_password"},
			} {
				r := s.do(t, tt.method, tt.path, tt.token, tt.body)
				errBody, _ := r.Body["error"].(map[string]any)
				fields, _ := errBody["fields"].(map[string]any)
				if r.Status != http.StatusUnprocessableEntity || errBody["code"] != "invalid" || fields[tt.field] == nil {
					t.Errorf("%s %s with %s in %s: %d %s; want 422 naming %s", tt.method, tt.path, name, tt.field, r.Status, r.Raw, tt.field)
				}
				sent++
			}
		}
		// Nothing stored, nothing changed: bob does not exist, ann is as
		// she was and still logs in with her password.
		r := s.do(t, "GET", "/api/users?page=1", tok, nil).want(t, http.StatusOK)
		if r.Body["total"] != float64(1) {
			t.Errorf("users after the attempts: %s", r.Raw)
		}
		if got := s.do(t, "GET", me, tok, nil).want(t, http.StatusOK); got.Body["username"] != "ann" || got.Body["email"] != "ann@example.com" {
			t.Errorf("ann changed: %s", got.Raw)
		}
		login(t, s, "ann", "correct horse battery")

		// What is valid stays valid, stored as sent.
		s.do(t, "POST", "/api/users", "", `{"email":"eve@example.com","username":"eve","password":"pass\ufffdword \ud83d\ude00 `+"\uFFFD"+`"}`).want(t, http.StatusCreated)
		login(t, s, "eve", "pass\uFFFDword \U0001F600 \uFFFD")
		t.Logf("%d requests with strings that are not UTF-8, each refused", sent)
	})
}

// TestSecurity_EmailLookAlikes registers ann@example.com, then tries to
// register addresses that read as hers, on every engine: each invisible,
// direction-changing or compatibility spelling of the local part is a 422
// naming email, and each spelling of the domain that IDNA maps to hers is
// her account (409), never a second one.
func TestSecurity_EmailLookAlikes(t *testing.T) {
	refused := []string{
		"an\u200bn", "an\u200cn", "an\u200dn", "ann\u200e", "ann\u200f", "\u202eann", "\u202aann", "ann\u2066", "ann\u2069",
		"an\u2060n", "an\u2063n", "an\u00adn", "\ufeffann", "ann\ufe0f", "ann\U000E0041", "an\u034fn", "ann\u3164",
		"\uff41nn", "a\uff4en", "\U0001d41ann", "\U0001d68a\U0001d697\U0001d697", "\u24d0nn", "ann\u00b2", "\u00aann",
	}
	sameAccount := []string{"ann@\uff45xample.com", "ann@exa\u00admple.com", "ann@EXAMPLE.com", "ANN@example.com", "ann@example\u3002com"}
	forEachEngine(t, func(t *testing.T, dbURL string) {
		s := startKura(t, "DATABASE_URL="+dbURL, noRateLimits)
		register(t, s, "ann@example.com", "ann")
		for i, local := range refused {
			r := s.do(t, "POST", "/api/users", "", map[string]string{"email": local + "@example.com", "username": fmt.Sprintf("m%02d", i), "password": "correct horse battery"})
			errBody, _ := r.Body["error"].(map[string]any)
			fields, _ := errBody["fields"].(map[string]any)
			if r.Status != http.StatusUnprocessableEntity || fields["email"] == nil {
				t.Errorf("%+q@example.com: %d %s; want 422 naming email", local, r.Status, r.Raw)
			}
		}
		for i, email := range sameAccount {
			r := s.do(t, "POST", "/api/users", "", map[string]string{"email": email, "username": fmt.Sprintf("d%02d", i), "password": "correct horse battery"})
			if r.Status != http.StatusConflict {
				t.Errorf("%+q: %d %s; want 409, ann's account", email, r.Status, r.Raw)
			}
		}
		// Letters with diacritics are letters: allowed. (Whether one is
		// another account than the same letters without the marks is the
		// engine's: MariaDB's utf8mb4_unicode_ci folds them, see
		// docs/SECURITY.md.)
		register(t, s, "\u00e5sa.\u0142ukasz@example.com", "asa")
		t.Logf("%d look-alike local parts refused, %d spellings of the domain found ann's account", len(refused), len(sameAccount))
	})
}

// TestSecurity_OperatorFigures: GET / does not tell anyone the version,
// and GET /api/stats is an admin's only.
func TestSecurity_OperatorFigures(t *testing.T) {
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db"), noRateLimits}
	if _, logs, err := runKura(t, env, "admin password 123\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
		t.Fatalf("users create --admin: %v\n%s", err, logs)
	}
	s := startKura(t, env...)
	register(t, s, "ann@example.com", "ann")
	user := login(t, s, "ann", "correct horse battery")
	admin := login(t, s, "root", "admin password 123")
	for _, tok := range []string{"", user} {
		if r := s.do(t, "GET", "/", tok, nil).want(t, http.StatusOK); r.Body["version"] != nil || r.Body["name"] != "kura" {
			t.Errorf("GET / = %s; want kura's name and no version", r.Raw)
		}
	}
	s.do(t, "GET", "/api/stats", "", nil).want(t, http.StatusUnauthorized)
	s.do(t, "GET", "/api/stats", user, nil).want(t, http.StatusForbidden)
	s.do(t, "GET", "/api/stats", "not-a-token", nil).want(t, http.StatusUnauthorized)
	if r := s.do(t, "GET", "/api/stats", admin, nil).want(t, http.StatusOK); r.Body["users"] != float64(2) {
		t.Errorf("stats for an admin = %s", r.Raw)
	}
}

// TestSecurity_CORSWildcard: a pattern lets the pages of one label under
// the domain read the answers, and no origin built to look like one; a
// wildcard kura does not support stops serve.
func TestSecurity_CORSWildcard(t *testing.T) {
	db := "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	s := startKura(t, db, "KURA_CORS_ORIGINS=https://*.example.com")
	allowed := func(origin string) bool {
		req, err := http.NewRequest("OPTIONS", s.URL+"/api/users", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode == http.StatusNoContent && res.Header.Get("Access-Control-Allow-Origin") == origin
	}
	if !allowed("https://app.example.com") {
		t.Error("https://app.example.com is not allowed by https://*.example.com")
	}
	for _, o := range []string{"https://evil.example.com.attacker.net", "https://example.com.evil", "https://example.com",
		"https://a.b.example.com", "http://app.example.com", "https://app.example.com:8443", "https://evilexample.com", "null"} {
		if allowed(o) {
			t.Errorf("%s is allowed by https://*.example.com", o)
		}
	}
	for _, bad := range []string{"*", "https://app.*.com", "https://*.com", "https://*.github.io", "https://*.example.com:*"} {
		_, _, err := runKura(t, []string{db, noMetricsListener, noBackups, "KURA_CORS_ORIGINS=" + bad}, "", "serve")
		if err == nil || !strings.Contains(err.Error(), "KURA_CORS_ORIGINS") {
			t.Errorf("serve with KURA_CORS_ORIGINS=%s: %v; want it stopped, naming the variable", bad, err)
		}
	}
}
