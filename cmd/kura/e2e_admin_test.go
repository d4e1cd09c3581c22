package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/testenv"
)

// TestSecurity_DisabledUserEndsEverywhere: two instances of kura serve
// share a database and Redis, and B has every session of the cast
// cached. An admin disabling ann through A, and the operator disabling
// bob with kura users disable, each end the user's tokens on B from the
// first request after the change returns, every time; neither can log in
// (the answer of a wrong password); the last admin cannot demote itself;
// the audit log names who did what. On the three engines.
func TestSecurity_DisabledUserEndsEverywhere(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + testenv.RedisURL(t),
			"KURA_CACHE_PREFIX=kura-test-" + testenv.RandomSuffix() + ":"}
		a := startKura(t, env...)
		b := startKura(t, env...)
		waitCacheConnected(t, a)
		waitCacheConnected(t, b)
		c := newCast(t, dbURL, a)
		c.warm(t, b)
		c.root = b.do(t, "GET", "/api/users/me", c.rootTok, nil).want(t, http.StatusOK).id()

		r := a.do(t, "PATCH", c.annPath, c.rootTok, map[string]any{"disabled": true}).want(t, http.StatusOK)
		if r.Body["disabled"] != true {
			t.Fatalf("PATCH disabled: %s", r.Raw)
		}
		for _, tok := range []string{c.annOut, c.annKept, c.annEnded} {
			wantEveryTime(t, b, "GET", "/api/users/me", tok, http.StatusUnauthorized, "a disabled user's token on B")
		}
		wantSameAsWrongPassword(t, b, "ann")

		if out, logs, err := runKura(t, env, "", "users", "disable", "bob"); err != nil || !strings.Contains(out, "disabled") {
			t.Fatalf("users disable bob: %v\n%s%s", err, out, logs)
		}
		wantEveryTime(t, b, "GET", "/api/users/me", c.bobTok, http.StatusUnauthorized, "a token of a user the operator disabled, on B")
		wantEveryTime(t, a, "GET", "/api/users/me", c.bobTok, http.StatusUnauthorized, "a token of a user the operator disabled, on A")

		r = b.do(t, "PATCH", fmt.Sprintf("/api/users/%d", c.root), c.rootTok, map[string]any{"role": "user"}).want(t, http.StatusConflict)
		if r.Raw == "" || !strings.Contains(r.Raw, "last active admin") {
			t.Fatalf("the last admin's demotion: %s", r.Raw)
		}
		_, _, err := runKura(t, env, "", "users", "demote", "root")
		if code := exitCode(err, io.Discard); code != 1 || !strings.Contains(err.Error(), "last active admin") {
			t.Fatalf("users demote root (the last admin): exit %d, %v; want 1 naming the rule", code, err)
		}

		out, logs, err := runKura(t, env, "", "users", "audit", "--json")
		if err != nil {
			t.Fatalf("users audit: %v\n%s", err, logs)
		}
		var log struct{ Items []auditOutput }
		if err := json.Unmarshal([]byte(out), &log); err != nil || len(log.Items) < 2 {
			t.Fatalf("users audit --json: %v\n%s", err, out)
		}
		bob, ann := log.Items[0], log.Items[1]
		if bob.Action != kura.AuditDisable || bob.ActorID != nil || !strings.HasPrefix(bob.Actor, "operator:") || *bob.TargetID != c.bob {
			t.Fatalf("the operator's disable: %+v", bob)
		}
		if ann.Action != kura.AuditDisable || ann.ActorID == nil || *ann.ActorID != c.root || ann.Actor != "root" || *ann.TargetID != c.ann {
			t.Fatalf("the admin's disable: %+v", ann)
		}

		if _, logs, err := runKura(t, env, "", "users", "enable", fmt.Sprint(c.ann)); err != nil {
			t.Fatalf("users enable: %v\n%s", err, logs)
		}
		b.do(t, "GET", "/api/users/me", login(t, b, "ann", "correct horse battery"), nil).want(t, http.StatusOK)
	})
}

// wantSameAsWrongPassword checks that the login of a disabled user, with
// its right password, answers as a wrong password does.
func wantSameAsWrongPassword(t *testing.T, s *server, username string) {
	t.Helper()
	right := s.do(t, "POST", "/api/auth/login", "", map[string]string{"login": username, "password": "correct horse battery"})
	wrong := s.do(t, "POST", "/api/auth/login", "", map[string]string{"login": username, "password": "not the password"})
	if right.Status != http.StatusUnauthorized || right.Raw != wrong.Raw {
		t.Fatalf("a disabled user's login answered %d %s; a wrong password %d %s", right.Status, right.Raw, wrong.Status, wrong.Raw)
	}
}
