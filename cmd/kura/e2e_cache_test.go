package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
)

// TestEndToEnd_CacheAcrossInstances runs two servers on one PostgreSQL
// database and one Redis: a write through one is seen through the other
// straight after it returns, though both serve reads from their caches.
func TestEndToEnd_CacheAcrossInstances(t *testing.T) {
	env := []string{
		"DATABASE_URL=" + testenv.PostgresDatabase(t),
		"REDIS_URL=" + testenv.RedisURL(t),
		"KURA_CACHE_PREFIX=kura-test-" + testenv.RandomSuffix() + ":",
	}
	a := startKura(t, env...)
	b := startKura(t, env...)

	ann := register(t, a, "ann@example.com", "ann")
	path := fmt.Sprintf("/api/users/%d", ann.id())
	tok := login(t, a, "ann", "correct horse battery")
	for _, s := range []*server{a, b} { // warm both caches
		s.do(t, "GET", path, "", nil).want(t, http.StatusOK)
	}
	for i := range 5 {
		name := fmt.Sprintf("ann%d", i)
		a.do(t, "PATCH", path, tok, map[string]string{"username": name}).want(t, http.StatusOK)
		if got := b.do(t, "GET", path, "", nil).want(t, http.StatusOK).Body["username"]; got != name {
			t.Fatalf("instance B serves %v after A's PATCH to %s", got, name)
		}
		if got := a.do(t, "GET", path, "", nil).want(t, http.StatusOK).Body["username"]; got != name {
			t.Fatalf("instance A serves %v after its own PATCH to %s", got, name)
		}
	}
	// Sessions: B caches the session behind each token; A's writes end or
	// change what B serves straight after.
	tok2 := login(t, a, "ann4", "correct horse battery")
	tok3 := login(t, a, "ann4", "correct horse battery")
	for _, tk := range []string{tok, tok2, tok3} {
		b.do(t, "GET", "/api/users/me", tk, nil).want(t, http.StatusOK)
	}
	a.do(t, "PATCH", path, tok, map[string]string{"username": "annie"}).want(t, http.StatusOK)
	if got := b.do(t, "GET", "/api/users/me", tok2, nil).want(t, http.StatusOK).Body["username"]; got != "annie" {
		t.Fatalf("B's /me serves %v after A's PATCH to annie", got)
	}
	a.do(t, "POST", "/api/auth/logout", tok2, nil).want(t, http.StatusNoContent)
	b.do(t, "GET", "/api/users/me", tok2, nil).want(t, http.StatusUnauthorized)
	// A password change ends, on B too, every session but the one that
	// made it.
	a.do(t, "PATCH", path, tok, map[string]string{"password": "a brand new password", "current_password": "correct horse battery"}).want(t, http.StatusOK)
	b.do(t, "GET", "/api/users/me", tok3, nil).want(t, http.StatusUnauthorized)
	b.do(t, "GET", "/api/users/me", tok, nil).want(t, http.StatusOK)
	tok = login(t, b, "annie", "a brand new password")

	// A "not found" remembered by B is forgotten when A creates the user.
	next := fmt.Sprintf("/api/users/%d", ann.id()+1)
	b.do(t, "GET", next, "", nil).want(t, http.StatusNotFound)
	bob := register(t, a, "bob@example.com", "bob")
	if bob.id() != ann.id()+1 {
		t.Fatalf("ids are not sequential here (%d after %d); the check below needs them to be", bob.id(), ann.id())
	}
	b.do(t, "GET", next, "", nil).want(t, http.StatusOK)

	a.do(t, "DELETE", path, tok, nil).want(t, http.StatusNoContent)
	b.do(t, "GET", path, "", nil).want(t, http.StatusNotFound)

	h := b.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)
	if h.Body["cache"] != "connected" {
		t.Errorf("health = %s", h.Raw)
	}
}

// TestEndToEnd_RedisOutage kills the Redis of two running servers in the
// middle of reads and writes: every request still succeeds from the
// database, /health reports the cache degraded while staying healthy, and
// when Redis returns the servers recover by themselves and serve nothing
// stale.
func TestEndToEnd_RedisOutage(t *testing.T) {
	redis := testenv.StartRedis(t)
	// The readers below read anonymously faster than the per-address
	// limit of anonymous reads allows one address.
	env := []string{"DATABASE_URL=" + testenv.PostgresDatabase(t), "REDIS_URL=" + redis.URL(), "KURA_ANON_READ_RATE=off"}
	a := startKura(t, env...)
	b := startKura(t, env...)
	ann := register(t, a, "ann@example.com", "ann")
	path := fmt.Sprintf("/api/users/%d", ann.id())
	tok := login(t, a, "ann", "correct horse battery")
	b.do(t, "GET", path, "", nil).want(t, http.StatusOK)

	// Readers hammer both servers while Redis dies under them.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var failures atomic.Int64
	for _, s := range []*server{a, b, a, b} {
		readers.Go(func() {
			for i := 0; i < 2000; i++ { // bounded, and stopped below
				select {
				case <-stop:
					return
				default:
				}
				res, err := http.Get(s.URL + path)
				if err != nil {
					failures.Add(1)
					continue
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		})
	}
	redis.Kill()
	for i := range 20 { // writes go on while the servers notice the loss
		a.do(t, "PATCH", path, tok, map[string]string{"username": fmt.Sprintf("down%d", i)}).want(t, http.StatusOK)
		if got := a.do(t, "GET", path, "", nil).want(t, http.StatusOK).Body["username"]; got != fmt.Sprintf("down%d", i) {
			t.Fatalf("A serves %v after its own PATCH while Redis is down", got)
		}
		b.do(t, "GET", path, "", nil).want(t, http.StatusOK)
	}
	close(stop)
	readers.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d reads failed while Redis went down", n)
	}
	for _, s := range []*server{a, b} {
		testenv.Wait(t, 0, "the cache to be reported degraded", func() bool {
			h := s.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)
			return h.Body["cache"] == "degraded" && h.Body["status"] == "healthy"
		})
	}

	testenv.StartRedisAt(t, redis)
	for _, s := range []*server{a, b} {
		testenv.Wait(t, 0, "the cache to recover", func() bool {
			return s.do(t, "GET", "/health", "", nil).Body["cache"] == "connected"
		})
	}
	// B may have cached a value during the outage that A's later writes did
	// not invalidate: on reconnecting it must have dropped it.
	if got := b.do(t, "GET", path, "", nil).want(t, http.StatusOK).Body["username"]; got != "down19" {
		t.Fatalf("B serves %v after Redis returned; want the last write, down19", got)
	}
	a.do(t, "PATCH", path, tok, map[string]string{"username": "back"}).want(t, http.StatusOK)
	if got := b.do(t, "GET", path, "", nil).want(t, http.StatusOK).Body["username"]; got != "back" {
		t.Fatalf("B serves %v after A's PATCH with Redis back\nA:\n%s\nB:\n%s", got, a.logs, b.logs)
	}
}

// TestEndToEnd_Stats reads GET /api/stats on each engine: the figures are
// computed by SQL, and reused until STATS_CACHE_TTL passes; they are an
// admin's only (401 without a token, 403 for a user).
func TestEndToEnd_Stats(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := "DATABASE_URL=" + dbURL
		if _, logs, err := runKura(t, []string{env}, "admin password 123\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
			t.Fatalf("users create --admin: %v\n%s", err, logs)
		}
		s := startKura(t, env)
		register(t, s, "b@example.com", "bob")
		tok := login(t, s, "root", "admin password 123")
		bob := login(t, s, "bob", "correct horse battery")
		s.do(t, "GET", "/api/stats", "", nil).want(t, http.StatusUnauthorized)
		s.do(t, "GET", "/api/stats", bob, nil).want(t, http.StatusForbidden)
		st := s.do(t, "GET", "/api/stats", tok, nil).want(t, http.StatusOK)
		for k, want := range map[string]float64{"users": 2, "new_users_24h": 2, "new_users_7d": 2, "active_sessions": 2} {
			if st.Body[k] != want {
				t.Errorf("%s = %v, want %v (%s)", k, st.Body[k], want, st.Raw)
			}
		}
		register(t, s, "c@example.com", "cat")
		if again := s.do(t, "GET", "/api/stats", tok, nil).want(t, http.StatusOK); again.Body["computed_at"] != st.Body["computed_at"] || again.Body["users"] != float64(2) {
			t.Errorf("stats were computed again within STATS_CACHE_TTL: %s", again.Raw)
		}
	})
}

// TestEndToEnd_RedisDownAtStart starts a server whose Redis is not running:
// it serves from the database, reports the cache degraded while healthy,
// and connects by itself once Redis starts.
func TestEndToEnd_RedisDownAtStart(t *testing.T) {
	redis := testenv.NewRedisServer(t) // not started yet
	s := startKura(t, "DATABASE_URL="+testenv.PostgresDatabase(t), "REDIS_URL="+redis.URL())
	ann := register(t, s, "ann@example.com", "ann")
	tok := login(t, s, "ann", "correct horse battery")
	path := fmt.Sprintf("/api/users/%d", ann.id())
	for range 3 {
		s.do(t, "GET", path, "", nil).want(t, http.StatusOK)
		s.do(t, "GET", "/api/users/me", tok, nil).want(t, http.StatusOK)
	}
	h := s.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)
	if h.Body["status"] != "healthy" || h.Body["cache"] != "degraded" {
		t.Fatalf("health with Redis down = %s", h.Raw)
	}
	testenv.StartRedisAt(t, redis)
	testenv.Wait(t, 0, "the cache to connect", func() bool {
		return s.do(t, "GET", "/health", "", nil).Body["cache"] == "connected"
	})
	s.do(t, "PATCH", path, tok, map[string]string{"username": "annie"}).want(t, http.StatusOK)
	if got := s.do(t, "GET", path, "", nil).want(t, http.StatusOK).Body["username"]; got != "annie" {
		t.Fatalf("served %v after the PATCH", got)
	}
}
