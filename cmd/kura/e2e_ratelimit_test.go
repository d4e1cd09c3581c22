package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// from sends a JSON request as a proxy at 127.0.0.1 would for the client
// at addr: with X-Forwarded-For.
func (s *server) from(t *testing.T, addr, method, path string, body any) response {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "203.0.113.200, "+addr) // the left one is the client's own claim
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: string(b)}
	json.Unmarshal(b, &r.Body)
	return r
}

// guesses sends n wrong passwords for ann from the attacker's address,
// alternating between the servers, and returns how many were answered
// 401 (checked) and 429, and the number of the first 429 (0 for none),
// failing on any other status.
func guesses(t *testing.T, servers []*server, n int) (checked, refused, first int) {
	t.Helper()
	for i := range n {
		r := servers[i%len(servers)].from(t, attacker, "POST", "/api/auth/login", map[string]string{"login": "ann", "password": "guess " + strconv.Itoa(i)})
		switch r.Status {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			refused++
			if first == 0 {
				first = i + 1
			}
			wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || wait < 1 || wait > 18 || r.errorField("code") != "rate_limited" {
				t.Fatalf("guess %d: 429 with Retry-After %q, body %s", i+1, r.Header.Get("Retry-After"), r.Raw)
			}
		default:
			t.Fatalf("guess %d: status %d, body %s", i+1, r.Status, r.Raw)
		}
	}
	return checked, refused, first
}

const (
	attacker = "198.51.100.66"
	owner    = "192.0.2.10"
)

// TestEndToEnd_RateLimits runs two servers on one PostgreSQL database and
// one Redis, behind a trusted proxy (the test, at 127.0.0.1). A script
// guessing one account's password 300 times from one address across both
// is refused from its 11th guess on, as one server would refuse it; the
// owner, from another address, still logs in. With Redis killed in the
// middle, each server limits on its own: guesses are still refused, and
// nothing answers 5xx. The account's own allowance is raised here so that
// the per-address one is what refuses (e2e_security_limits_test.go tries
// the account's).
func TestEndToEnd_RateLimits(t *testing.T) {
	rs := testenv.StartRedis(t)
	env := []string{
		"DATABASE_URL=" + testenv.PostgresDatabase(t),
		"REDIS_URL=" + rs.URL(),
		"KURA_TRUSTED_PROXIES=127.0.0.1",
		"KURA_LOGIN_FAILURE_RATE=40/15m",
	}
	a, b := startKura(t, env...), startKura(t, env...)
	servers := []*server{a, b}
	a.from(t, owner, "POST", "/api/users", map[string]string{"email": "ann@example.com", "username": "ann", "password": "correct horse battery"}).
		want(t, http.StatusCreated)

	start := time.Now()
	checked, refused, first := guesses(t, servers, 150)
	elapsed := time.Since(start)
	if first != 11 {
		t.Fatalf("the first guess refused across two servers is number %d, want 11", first)
	}
	// 10 at once (KURA_LOGIN_RATE=10/3m), then one per 18 s of the run.
	if most := 10 + int(elapsed/(18*time.Second)); checked > most || checked < 10 {
		t.Fatalf("%d of 150 guesses across two servers were checked in %s, want 10 to %d", checked, elapsed.Round(time.Millisecond), most)
	}
	t.Logf("Redis up: %d guesses checked, %d refused (429) in %s", checked, refused, elapsed.Round(time.Millisecond))

	// The owner, elsewhere, gets in: the address's limit is the
	// attacker's alone.
	start = time.Now()
	a.from(t, owner, "POST", "/api/auth/login", map[string]string{"login": "ann", "password": "correct horse battery"}).want(t, http.StatusOK)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the owner's login took %s", took)
	}

	rs.Kill()
	start = time.Now()
	checked, refused, _ = guesses(t, servers, 150)
	elapsed = time.Since(start)
	// Each server now counts alone, from what it saw of the run: at most
	// its own allowance and what refilled.
	if most := 2 * (10 + int(elapsed/(18*time.Second))); checked > most || refused < 150-most {
		t.Fatalf("Redis down: %d of 150 guesses checked, %d refused, in %s; want at most %d checked", checked, refused, elapsed.Round(time.Millisecond), most)
	}
	t.Logf("Redis down: %d guesses checked, %d refused (429) in %s", checked, refused, elapsed.Round(time.Millisecond))
	b.from(t, owner, "POST", "/api/auth/login", map[string]string{"login": "ann", "password": "correct horse battery"}).want(t, http.StatusOK)
	b.from(t, "192.0.2.11", "POST", "/api/users", map[string]string{"email": "bob@example.com", "username": "bob", "password": "correct horse battery"}).
		want(t, http.StatusCreated)
	testenv.Wait(t, 0, "a server to log that its rate limits count in process", func() bool {
		return bytes.Contains([]byte(a.logs.String()+b.logs.String()), []byte("counting in process"))
	})
}
