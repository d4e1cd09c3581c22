package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/ratelimit/ratelimittest"
)

// The attacker's side of the rate limits: what a request carries, or how
// it spells a login, must not switch a limit off.

// authHeaders are the Authorization headers a script may send to look
// authenticated: none verifies. Each is a list, for repeated headers.
func authHeaders(valid string) map[string][]string {
	return map[string][]string{
		"bearer garbage":       {"Bearer garbage"},
		"basic":                {"Basic dXNlcjpwYXNzd29yZA=="},
		"empty bearer":         {"Bearer "},
		"bearer without space": {"Bearer"},
		"empty":                {""},
		"unknown scheme":       {"Token " + valid},
		"repeated, valid last": {"Bearer garbage", "Bearer " + valid},
		"repeated, valid both": {"Bearer " + valid, "Bearer " + valid},
	}
}

// withAuth returns a request carrying the Authorization values given, the
// header's name spelled as given (net/http canonicalises it on the wire).
func withAuth(req *http.Request, name string, values []string) *http.Request {
	for _, v := range values {
		req.Header.Add(name, v)
	}
	return req
}

// TestSecurity_RegistrationWhateverTheHeaders checks that registration is
// limited per address whatever the request carries: a token that does not
// verify, one that does, or repeated headers.
func TestSecurity_RegistrationWhateverTheHeaders(t *testing.T) {
	e := newEnv(t, limited(ratelimittest.NewClock(), httpapi.RateLimits{AnonWrite: ratelimit.Limit{Events: 3, Per: time.Hour}}))
	_, tok := e.mustUser("ann", false) // 1 of 3
	variants := authHeaders(tok)
	variants["valid token"] = []string{"Bearer " + tok}
	n := 0
	for name, values := range variants {
		for _, spelling := range []string{"Authorization", "authorization", "AUTHORIZATION"} {
			n++
			body, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("u%d@example.com", n), "username": fmt.Sprintf("user%d", n), "password": "correct horse"})
			req := withAuth(httptest.NewRequest("POST", "/api/users", bytes.NewReader(body)), spelling, values)
			w := e.serve(req)
			if n <= 2 {
				mustStatus(t, w, http.StatusCreated)
				continue
			}
			if w.Code != http.StatusTooManyRequests {
				t.Errorf("registration %d with %s (%s): status %d, want 429", n, name, spelling, w.Code)
			}
		}
	}
}

// TestSecurity_AnonWritesWhateverTheHeaders checks that writes whose token
// does not verify, to kura's routes and to an application's, count
// against the address's anonymous allowance, and a verified token's do not.
func TestSecurity_AnonWritesWhateverTheHeaders(t *testing.T) {
	const limit = 5
	e := newEnv(t, limited(ratelimittest.NewClock(), httpapi.RateLimits{AnonWrite: ratelimit.Limit{Events: limit, Per: time.Hour}}))
	annID, tok := e.mustUser("ann", false) // 1 of 5
	e.srv.Handle("POST /api/things", func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	e.srv.HandleAuth("PUT /api/things", func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	routes := []struct{ method, path string }{
		{"POST", "/api/things"}, {"PUT", "/api/things"},
		{"PATCH", fmt.Sprintf("/api/users/%d", annID)}, {"DELETE", fmt.Sprintf("/api/users/%d", annID)},
		{"POST", "/api/auth/logout"},
	}
	counted := 1
	for name, values := range authHeaders(tok) {
		for _, rt := range routes {
			w := e.serve(withAuth(httptest.NewRequest(rt.method, rt.path, bytes.NewReader([]byte(`{"username":"ann"}`))), "authorization", values))
			counted++
			switch {
			case counted <= limit && rt.path == "/api/things" && rt.method == "POST":
				mustStatus(t, w, http.StatusNoContent) // a route for anyone runs, anonymously
			case counted <= limit:
				mustStatus(t, w, http.StatusUnauthorized)
			case w.Code != http.StatusTooManyRequests:
				t.Errorf("%s %s with %s, write %d: status %d, want 429", rt.method, rt.path, name, counted, w.Code)
			}
		}
	}
	// A token that verifies is limited per token, not per address.
	mustStatus(t, e.do("POST", "/api/things", nil, tok), http.StatusNoContent)
	mustStatus(t, e.do("PUT", "/api/things", nil, tok), http.StatusNoContent)
	mustStatus(t, e.do("PATCH", fmt.Sprintf("/api/users/%d", annID), map[string]string{"username": "annie"}, tok), http.StatusOK)
}

// TestSecurity_AnonRead checks that anonymous reads of users, and reads
// whose token does not verify, are limited per address, never a verified
// token's reads nor /health.
func TestSecurity_AnonRead(t *testing.T) {
	e := newEnv(t, limited(ratelimittest.NewClock(), httpapi.RateLimits{AnonRead: ratelimit.Limit{Events: 5, Per: time.Minute}}))
	annID, tok := e.mustUser("ann", false)
	for i := range 5 {
		mustStatus(t, e.do("GET", fmt.Sprintf("/api/users/%d", annID+int64(i%2)), nil, ""), map[bool]int{true: http.StatusOK, false: http.StatusNotFound}[i%2 == 0])
	}
	mustRetryAfter(t, e.do("GET", fmt.Sprintf("/api/users/%d", annID), nil, ""), 12)
	for name, values := range authHeaders(tok) {
		for _, path := range []string{fmt.Sprintf("/api/users/%d", annID), "/api/users/me", "/api/users"} {
			w := e.serve(withAuth(httptest.NewRequest("GET", path, nil), "Authorization", values))
			if w.Code != http.StatusTooManyRequests {
				t.Errorf("GET %s with %s: status %d, want 429", path, name, w.Code)
			}
		}
	}
	// Another address has its own allowance; a verified token and the
	// health checks are never counted.
	req := httptest.NewRequest("GET", fmt.Sprintf("/api/users/%d", annID), nil)
	mustStatus(t, e.from("198.51.100.4:1000", req), http.StatusOK)
	for range 20 {
		mustStatus(t, e.do("GET", fmt.Sprintf("/api/users/%d", annID), nil, tok), http.StatusOK)
		mustStatus(t, e.do("GET", "/health", nil, ""), http.StatusOK)
		mustStatus(t, e.do("GET", "/health/live", nil, ""), http.StatusOK)
	}
}

// TestSecurity_AccountSpellings checks that every spelling of one login
// (case, full-width letters, an ideographic full stop, the username or the
// email) takes from one allowance, and that an unknown login answers
// exactly as a known one: the same statuses and Retry-After.
func TestSecurity_AccountSpellings(t *testing.T) {
	answers := func(spellings []string) []string {
		e := newEnv(t, limited(ratelimittest.NewClock(), httpapi.RateLimits{
			Login:         ratelimit.NoLimit,
			LoginFailures: ratelimit.Limit{Events: 3, Per: time.Hour},
			MaxLoginDelay: time.Millisecond,
		}))
		e.mustRegister("ann")
		var got []string
		for i, login := range spellings {
			w := e.login("192.0.2."+strconv.Itoa(i+1)+":1000", login, "wrong password")
			got = append(got, fmt.Sprintf("%d %s", w.Code, w.Header().Get("Retry-After")))
		}
		if n := e.store.compared.Load(); n != 3 {
			t.Errorf("%d passwords compared for %q, want 3", n, spellings)
		}
		return got
	}
	known := answers([]string{"ann", "ANN@EXAMPLE.COM", "ann@ｅｘａｍｐｌｅ.com", "ann@example。com", "Ann", "ann@example.com"})
	unknown := answers([]string{"zed@example.com", "ZED@EXAMPLE.COM", "zed@ｅｘａｍｐｌｅ.com", "zed@example。com", "Zed@Example.Com", "zed@example.com"})
	want := []string{"401 ", "401 ", "401 ", "429 1200", "429 1200", "429 1200"}
	for i := range want {
		if known[i] != want[i] || unknown[i] != want[i] {
			t.Fatalf("answers to a known account %q and an unknown one %q, want both %q", known, unknown, want)
		}
	}
}

// TestSecurity_ParallelGuesses sends 50 guesses at once from 50
// addresses: with the clock still, exactly the account's allowance is
// checked, and every other guess is refused before its password is.
func TestSecurity_ParallelGuesses(t *testing.T) {
	e := newEnv(t, limited(ratelimittest.NewClock(), httpapi.RateLimits{
		LoginFailures: ratelimit.Limit{Events: 5, Per: time.Hour},
		MaxLoginDelay: 50 * time.Millisecond,
	}))
	e.mustRegister("ann")
	codes := make([]int, 50)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			codes[i] = e.login(fmt.Sprintf("203.0.113.%d:1000", i+1), "ann", fmt.Sprint("guess ", i)).Code
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[http.StatusUnauthorized] != 5 || count[http.StatusTooManyRequests] != 45 || e.store.compared.Load() != 5 {
		t.Fatalf("50 parallel guesses answered %v with %d passwords compared; want 5 401s and 45 429s", count, e.store.compared.Load())
	}
}

// TestSecurity_RepeatedAuthorization checks that two Authorization
// headers are no credential, even when both are the same valid token.
func TestSecurity_RepeatedAuthorization(t *testing.T) {
	e := newEnv(t)
	_, tok := e.mustUser("ann", false)
	req := withAuth(httptest.NewRequest("GET", "/api/users/me", nil), "Authorization", []string{"Bearer " + tok, "Bearer " + tok})
	mustError(t, e.serve(req), http.StatusUnauthorized, "unauthorized")
	mustStatus(t, e.do("GET", "/api/users/me", nil, tok), http.StatusOK)
}
