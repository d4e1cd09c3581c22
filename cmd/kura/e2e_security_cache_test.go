package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// Attacks on the cache between instances: a token, a user or a role ended
// on one instance of `kura serve` must stop working on the others although
// they cached it, whatever Redis is doing.

// attempts is how many times in a row each check is tried: an attacker
// retries, and every try must fail.
const attempts = 5

// partitionBound is what docs/SECURITY.md promises for an instance cut off
// from Redis while the others reach it: the others stop accepting what it
// ended within a poll of the database and one query.
const partitionBound = cached.DefaultPollInterval + time.Second

// sharedEngines are the databases two servers share in these tests: a
// SQLite file both open, and one PostgreSQL database.
var sharedEngines = func() (shared []engine) {
	for _, e := range engines {
		if e.name == "sqlite" || e.name == "postgres" {
			shared = append(shared, e)
		}
	}
	return shared
}()

// waitCacheConnected waits until s reports its caches connected, which
// for the caches of users and sessions means trusted too.
func waitCacheConnected(t *testing.T, s *server) {
	t.Helper()
	testenv.Wait(t, 0, "the cache to be connected", func() bool {
		return s.do(t, "GET", "/health", "", nil).Body["cache"] == "connected"
	})
}

// wantEveryTime sends the request attempts times and fails the test unless
// each answers status.
func wantEveryTime(t *testing.T, s *server, method, path, token string, status int, what string) {
	t.Helper()
	for i := range attempts {
		if r := s.do(t, method, path, token, nil); r.Status != status {
			t.Fatalf("%s: attempt %d answered %d, want %d: %s", what, i+1, r.Status, status, r.Raw)
		}
	}
}

// cast is the accounts of an attack: ann (a user with several sessions),
// bob (a user an admin deletes) and root (an admin who is demoted).
type cast struct {
	ann, bob, root            int64
	annOut, annKept, annEnded string // tokens: to log out, to keep, ended by a password change
	bobTok, rootTok           string
	annPath, bobPath          string
}

// newCast registers the accounts through a and logs them in.
func newCast(t *testing.T, dbURL string, a *server) *cast {
	t.Helper()
	env := []string{"DATABASE_URL=" + dbURL, passwordEnv + "=the admin's long password"}
	if _, logs, err := runKura(t, env, "", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, logs)
	}
	c := &cast{
		ann: register(t, a, "ann@example.com", "ann").id(),
		bob: register(t, a, "bob@example.com", "bob").id(),
	}
	c.annOut = login(t, a, "ann", "correct horse battery")
	c.annKept = login(t, a, "ann", "correct horse battery")
	c.annEnded = login(t, a, "ann", "correct horse battery")
	c.bobTok = login(t, a, "bob", "correct horse battery")
	c.rootTok = login(t, a, "root", "the admin's long password")
	c.annPath, c.bobPath = fmt.Sprintf("/api/users/%d", c.ann), fmt.Sprintf("/api/users/%d", c.bob)
	return c
}

// warm has b cache every session, user and role of the cast, and checks
// what each may do there.
func (c *cast) warm(t *testing.T, b *server) {
	t.Helper()
	for range 2 { // the second time from b's cache
		for _, tok := range []string{c.annOut, c.annKept, c.annEnded, c.bobTok, c.rootTok} {
			b.do(t, "GET", "/api/users/me", tok, nil).want(t, http.StatusOK)
		}
		if b.do(t, "GET", c.annPath, c.rootTok, nil).want(t, http.StatusOK).Body["email"] == nil {
			t.Fatal("root, an admin, does not see ann's private view")
		}
	}
}

// TestSecurity_SessionsEndWhileRedisDown ends sessions, deletes a user and
// demotes an admin through instance A while Redis is killed or hung: each
// is refused on instance B, which had them cached, from the first request
// after A answers, every time.
func TestSecurity_SessionsEndWhileRedisDown(t *testing.T) {
	failures := []struct {
		name           string
		fail, recovery func(*testenv.RedisServer)
		resumed        bool // recovery may run again, so that a failed test does not leave Redis paused
	}{
		{"killed", (*testenv.RedisServer).Kill, (*testenv.RedisServer).Start, false},
		{"paused", (*testenv.RedisServer).Pause, (*testenv.RedisServer).Resume, true},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			for _, e := range sharedEngines {
				t.Run(e.name, func(t *testing.T) {
					t.Parallel()
					redis := testenv.StartRedis(t)
					dbURL := e.url(t)
					env := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redis.URL()}
					a := startKura(t, env...)
					b := startKura(t, env...)
					if f.resumed {
						t.Cleanup(func() { f.recovery(redis) }) // before the servers stop
					}
					waitCacheConnected(t, a)
					waitCacheConnected(t, b)
					c := newCast(t, dbURL, a)
					c.warm(t, b)

					f.fail(redis)
					endEverything(t, dbURL, a, b, c)

					f.recovery(redis)
					waitCacheConnected(t, a)
					waitCacheConnected(t, b)
					for _, tok := range []string{c.annOut, c.annEnded, c.bobTok} {
						wantEveryTime(t, b, "GET", "/api/users/me", tok, http.StatusUnauthorized, "an ended session after Redis returned")
					}
					wantEveryTime(t, b, "GET", "/api/users/me", c.annKept, http.StatusOK, "the session the password change kept")
				})
			}
		})
	}
}

// endEverything ends, through a, what b has cached, and checks that b
// refuses each at once.
func endEverything(t *testing.T, dbURL string, a, b *server, c *cast) {
	t.Helper()
	start := time.Now()
	a.do(t, "POST", "/api/auth/logout", c.annOut, nil).want(t, http.StatusNoContent)
	t.Logf("logout on A took %v", time.Since(start))
	wantEveryTime(t, b, "GET", "/api/users/me", c.annOut, http.StatusUnauthorized, "a logged-out token on B")

	start = time.Now()
	a.do(t, "PATCH", c.annPath, c.annKept, map[string]string{"password": "a brand new password", "current_password": "correct horse battery"}).want(t, http.StatusOK)
	t.Logf("password change on A took %v", time.Since(start))
	wantEveryTime(t, b, "GET", "/api/users/me", c.annEnded, http.StatusUnauthorized, "a session a password change ended, on B")
	wantEveryTime(t, b, "GET", "/api/users/me", c.annKept, http.StatusOK, "the session the password change kept, on B")

	a.do(t, "DELETE", c.bobPath, c.rootTok, nil).want(t, http.StatusNoContent)
	wantEveryTime(t, b, "GET", "/api/users/me", c.bobTok, http.StatusUnauthorized, "a deleted user's token on B")
	wantEveryTime(t, b, "GET", c.bobPath, "", http.StatusNotFound, "a deleted user on B")

	// An operator may change a role in the database by hand, which no
	// cache hears of (kura users demote is the way that is heard). B,
	// which cannot know of it while Redis is down, must not answer from
	// its copy of root's role.
	demote(t, dbURL, "root")
	for i := range attempts {
		if r := b.do(t, "GET", c.annPath, c.rootTok, nil).want(t, http.StatusOK); r.Body["email"] != nil {
			t.Fatalf("attempt %d: a demoted admin still sees ann's private view on B: %s", i+1, r.Raw)
		}
	}
}

// demote makes the user an ordinary user, in the database directly.
func demote(t *testing.T, dbURL, username string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Writer().ExecContext(ctx, db.Rebind(`UPDATE users SET role = 'user' WHERE username = ?`), username); err != nil {
		t.Fatal(err)
	}
}

// TestSecurity_SessionEndsOnAPartitionedInstance cuts instance A off from
// Redis while B keeps it: B still trusts Redis and its copy, so what A ends
// reaches B through the database, within partitionBound.
func TestSecurity_SessionEndsOnAPartitionedInstance(t *testing.T) {
	for _, e := range sharedEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			redis := testenv.StartRedis(t)
			proxy := testenv.StartProxy(t, net.JoinHostPort("127.0.0.1", redis.Port))
			viaProxy, _ := url.Parse(redis.URL())
			viaProxy.Host = proxy.Addr()
			dbURL := e.url(t)
			a := startKura(t, "DATABASE_URL="+dbURL, "REDIS_URL="+viaProxy.String())
			b := startKura(t, "DATABASE_URL="+dbURL, "REDIS_URL="+redis.URL())
			waitCacheConnected(t, a)
			waitCacheConnected(t, b)
			c := newCast(t, dbURL, a)
			c.warm(t, b)

			proxy.Refuse()
			testenv.Wait(t, 0, "A to report its cache degraded", func() bool {
				return a.do(t, "GET", "/health", "", nil).Body["cache"] == "degraded"
			})
			if h := b.do(t, "GET", "/health", "", nil); h.Body["cache"] != "connected" {
				t.Fatalf("B lost Redis too (%s): the test would not show a partition", h.Raw)
			}
			// A's first invalidations wait out the lease; the ones measured
			// below answer at once, as they do after an outage's first
			// seconds.
			a.do(t, "DELETE", c.bobPath, c.rootTok, nil).want(t, http.StatusNoContent)

			for _, end := range []struct {
				what  string
				write func()
				token string
			}{
				{"a logged-out token", func() { a.do(t, "POST", "/api/auth/logout", c.annOut, nil).want(t, http.StatusNoContent) }, c.annOut},
				{"a session a password change ended", func() {
					a.do(t, "PATCH", c.annPath, c.annKept, map[string]string{"password": "a brand new password", "current_password": "correct horse battery"}).want(t, http.StatusOK)
				}, c.annEnded},
			} {
				end.write()
				answered := time.Now()
				testenv.Wait(t, partitionBound+5*time.Second, end.what+" refused on B", func() bool {
					return b.do(t, "GET", "/api/users/me", end.token, nil).Status == http.StatusUnauthorized
				})
				if took := time.Since(answered); took > partitionBound {
					t.Fatalf("B accepted %s for %v after A answered, want at most %v", end.what, took, partitionBound)
				} else {
					t.Logf("B refused %s %v after A answered", end.what, took)
				}
				wantEveryTime(t, b, "GET", "/api/users/me", end.token, http.StatusUnauthorized, end.what+" on B")
				wantEveryTime(t, a, "GET", "/api/users/me", end.token, http.StatusUnauthorized, end.what+" on A")
			}
			wantEveryTime(t, b, "GET", "/api/users/me", c.bobTok, http.StatusUnauthorized, "a deleted user's token on B")
			wantEveryTime(t, b, "GET", "/api/users/me", c.annKept, http.StatusOK, "the session the password change kept, on B")

			proxy.Resume()
			waitCacheConnected(t, a)
			wantEveryTime(t, a, "GET", "/api/users/me", c.annOut, http.StatusUnauthorized, "a logged-out token on A after it reconnected")
		})
	}
}
