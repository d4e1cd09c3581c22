package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/ratelimit/ratelimittest"
)

// limited returns an edit of the Config: a Local limiter on clk and the
// given limits.
func limited(clk *ratelimittest.Clock, limits httpapi.RateLimits) func(*httpapi.Config) {
	return func(c *httpapi.Config) {
		c.Limiter = ratelimit.NewLocal(ratelimit.LocalConfig{Now: clk.Now})
		c.RateLimits = limits
	}
}

// from sends req as if from the client address addr.
func (e *env) from(addr string, req *http.Request) *httptest.ResponseRecorder {
	req.RemoteAddr = addr
	return e.serve(req)
}

// login sends a login from addr.
func (e *env) login(addr, login, password string) *httptest.ResponseRecorder {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	return e.from(addr, httptest.NewRequest("POST", "/api/auth/login", bytes.NewReader(body)))
}

func mustRetryAfter(t *testing.T, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	mustError(t, w, http.StatusTooManyRequests, "rate_limited")
	if got := w.Header().Get("Retry-After"); got != strconv.Itoa(want) {
		t.Fatalf("Retry-After = %q, want %d", got, want)
	}
}

func TestRateLimit_Login(t *testing.T) {
	clk := ratelimittest.NewClock()
	// The account's failures are left out here: TestRateLimit_LoginFailures.
	e := newEnv(t, limited(clk, httpapi.RateLimits{LoginFailures: ratelimit.NoLimit}))
	e.mustRegister("ann")
	for range 10 {
		mustStatus(t, e.login("192.0.2.1:1000", "ann", "wrong password"), http.StatusUnauthorized)
	}
	// Rails 8's default: the 11th in 3 minutes waits 180/10 = 18 s.
	mustRetryAfter(t, e.login("192.0.2.1:1001", "ann", "correct horse"), 18)
	clk.Add(17*time.Second + 500*time.Millisecond)
	mustRetryAfter(t, e.login("192.0.2.1:1001", "ann", "correct horse"), 1) // rounded up
	clk.Add(time.Second)
	mustStatus(t, e.login("192.0.2.1:1001", "ann", "correct horse"), http.StatusOK)
	// Another client is not held back by the first one's guesses.
	mustStatus(t, e.login("198.51.100.9:1000", "ann", "correct horse"), http.StatusOK)
}

// TestRateLimit_LoginFailures checks that every password check of an
// account, from any address, takes from one allowance before the
// password is checked: past it a check waits for the account's next turn
// when that is within MaxLoginDelay, and is refused otherwise; the owner,
// at an address they logged in from, keeps an allowance of their own.
func TestRateLimit_LoginFailures(t *testing.T) {
	clk := ratelimittest.NewClock()
	delay := 100 * time.Millisecond
	e := newEnv(t, limited(clk, httpapi.RateLimits{
		LoginFailures: ratelimit.Limit{Events: 3, Per: time.Hour},
		MaxLoginDelay: delay,
	}))
	e.mustRegister("ann")
	const home = "198.51.100.9:1000"
	mustStatus(t, e.login(home, "ann", "correct horse"), http.StatusOK) // 1 of 3
	// Other addresses, so that only the account's limit counts.
	for i := range 2 {
		mustStatus(t, e.login("192.0.2."+strconv.Itoa(i+1)+":1000", "ANN", "wrong password"), http.StatusUnauthorized)
	}
	compared := e.store.compared.Load()
	// The account's turn is 20 minutes away: refused, even with the
	// right password, from an address that never logged in.
	mustRetryAfter(t, e.login("192.0.2.3:1000", "ann", "wrong password"), 1200)
	mustRetryAfter(t, e.login("203.0.113.7:1000", "ann@example.com", "correct horse"), 1200)
	if n := e.store.compared.Load() - compared; n != 0 {
		t.Fatalf("%d passwords compared past the allowance", n)
	}
	// The owner, at home, gets in on an allowance of their own.
	start := time.Now()
	mustStatus(t, e.login(home, "ann", "correct horse"), http.StatusOK)
	if took := time.Since(start); took >= delay {
		t.Fatalf("the owner's login at a known address took %s", took)
	}
	// Once the account's turn is within MaxLoginDelay, a check waits for it.
	clk.Add(20*time.Minute - delay/2)
	start = time.Now()
	mustStatus(t, e.login("192.0.2.3:1000", "ann", "wrong password"), http.StatusUnauthorized)
	if took := time.Since(start); took < delay/2 {
		t.Fatalf("a check past the allowance took %s, want the wait for its turn, %s", took, delay/2)
	}
	// The next turn is one interval after the one just taken, 50 ms ahead.
	mustRetryAfter(t, e.login("192.0.2.3:1000", "ann", "wrong password"), 1201)
}

func TestRateLimit_AnonWrite(t *testing.T) {
	clk := ratelimittest.NewClock()
	e := newEnv(t, limited(clk, httpapi.RateLimits{AnonWrite: ratelimit.Limit{Events: 3, Per: time.Hour}}))
	e.mustRegister("ann")
	tok := e.mustLogin("ann")
	for _, name := range []string{"bob", "cat"} {
		e.mustRegister(name)
	}
	w := e.do("POST", "/api/users", map[string]string{"email": "dan@example.com", "username": "dan", "password": "correct horse"}, "")
	mustRetryAfter(t, w, 1200)
	// An application's anonymous write shares the allowance, and so does
	// one with a token that does not verify; its reads and writes with a
	// token that verifies do not count.
	e.srv.Handle("POST /api/things", func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	mustRetryAfter(t, e.do("POST", "/api/things", nil, ""), 1200)
	mustRetryAfter(t, e.do("POST", "/api/things", nil, "any-token"), 1200)
	mustStatus(t, e.do("GET", "/api/users/1", nil, ""), http.StatusOK)
	mustStatus(t, e.do("POST", "/api/things", nil, tok), http.StatusNoContent)
}

func TestRateLimit_Token(t *testing.T) {
	clk := ratelimittest.NewClock()
	e := newEnv(t, limited(clk, httpapi.RateLimits{Token: ratelimit.Limit{Events: 5, Per: time.Minute}}))
	_, ann := e.mustUser("ann", false)
	_, bob := e.mustUser("bob", false)
	for range 5 {
		mustStatus(t, e.do("GET", "/api/users/me", nil, ann), http.StatusOK)
	}
	mustRetryAfter(t, e.do("GET", "/api/users/me", nil, ann), 12)
	mustRetryAfter(t, e.do("GET", "/api/users/1", nil, ann), 12)
	mustStatus(t, e.do("GET", "/api/users/me", nil, bob), http.StatusOK)
	clk.Add(12 * time.Second)
	mustStatus(t, e.do("GET", "/api/users/me", nil, ann), http.StatusOK)
}

// TestRateLimit_Off checks ratelimit.None and a limit set to NoLimit.
func TestRateLimit_Off(t *testing.T) {
	none := newEnv(t, func(c *httpapi.Config) { c.Limiter = ratelimit.None{} })
	off := newEnv(t, limited(ratelimittest.NewClock(), httpapi.RateLimits{Login: ratelimit.NoLimit, LoginFailures: ratelimit.NoLimit}))
	for _, e := range []*env{none, off} {
		e.mustRegister("ann")
		for range 50 {
			mustStatus(t, e.login("192.0.2.1:1000", "nobody", "wrong password"), http.StatusUnauthorized)
		}
	}
}

func TestServer_ClientAddr(t *testing.T) {
	proxies, err := httpapi.ParseTrustedProxies("10.0.0.0/8, 192.0.2.7 ,2001:db8:1::/48")
	if err != nil {
		t.Fatal(err)
	}
	plain := newEnv(t).srv
	behind := newEnv(t, func(c *httpapi.Config) { c.TrustedProxies = proxies }).srv
	for _, tc := range []struct {
		srv    *httpapi.Server
		remote string
		xff    []string
		want   string
	}{
		{plain, "203.0.113.5:1234", nil, "203.0.113.5"},
		{plain, "10.0.0.1:1234", []string{"198.51.100.1"}, "10.0.0.1"}, // no proxy trusted
		{behind, "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{behind, "10.0.0.1:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		// A client's own X-Forwarded-For is to the left: ignored.
		{behind, "10.0.0.1:1234", []string{"1.2.3.4, 198.51.100.1, 192.0.2.7"}, "198.51.100.1"},
		{behind, "10.0.0.1:1234", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{behind, "10.0.0.1:1234", []string{"garbage, 10.0.0.2"}, "10.0.0.2"},
		{behind, "10.0.0.1:1234", nil, "10.0.0.1"},
		{behind, "[::ffff:10.0.0.1]:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		{plain, "[2001:db8:5:6:7::1]:1234", nil, "2001:db8:5:6::/64"},
		{behind, "[2001:db8:1:2::9]:1234", []string{"2001:db8:7::1"}, "2001:db8:7::/64"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := tc.srv.ClientAddr(req); got != tc.want {
			t.Errorf("ClientAddr(%s, %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.1:80"} {
		if _, err := httpapi.ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}
