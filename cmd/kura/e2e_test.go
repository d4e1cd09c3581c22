package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func register(t *testing.T, s *server, email, username string) response {
	t.Helper()
	return s.do(t, "POST", "/api/users", "", map[string]string{"email": email, "username": username, "password": "correct horse battery"}).want(t, http.StatusCreated)
}

func login(t *testing.T, s *server, login, password string) string {
	t.Helper()
	r := s.do(t, "POST", "/api/auth/login", "", map[string]string{"login": login, "password": password}).want(t, http.StatusOK)
	tok, _ := r.Body["token"].(string)
	if tok == "" || r.Body["expires_at"] == nil || r.Body["user"] == nil {
		t.Fatalf("login response lacks token, expires_at or user: %s", r.Raw)
	}
	return tok
}

// TestEndToEnd drives the whole API of PRODUCT.md through a real server on
// each engine.
func TestEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL}
		s := startKura(t, env...)

		// Register.
		alice := register(t, s, "Alice@Example.com", "alice")
		if loc := alice.Header.Get("Location"); loc != "/api/users/"+strconv.FormatInt(alice.id(), 10) {
			t.Errorf("Location = %q", loc)
		}
		if alice.Body["email"] != "alice@example.com" || alice.Body["role"] != "user" || alice.Body["updated_at"] == nil {
			t.Errorf("register returns the private view: %s", alice.Raw)
		}
		r := s.do(t, "POST", "/api/users", "", map[string]string{"email": "ALICE@example.COM", "username": "other", "password": "correct horse battery"}).want(t, http.StatusConflict)
		if r.errorField("code") != "conflict" || r.fieldMessage("email") == "" {
			t.Errorf("email clash must name email: %s", r.Raw)
		}
		r = s.do(t, "POST", "/api/users", "", map[string]string{"email": "a2@example.com", "username": "ALICE", "password": "correct horse battery"}).want(t, http.StatusConflict)
		if r.fieldMessage("username") == "" {
			t.Errorf("username clash must name username: %s", r.Raw)
		}
		r = s.do(t, "POST", "/api/users", "", map[string]string{"email": "nope", "username": "x", "password": "short"}).want(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"email", "username", "password"} {
			if r.fieldMessage(f) == "" {
				t.Errorf("422 lacks a message for %s: %s", f, r.Raw)
			}
		}
		s.do(t, "POST", "/api/users", "", `{"email": "x@example.com",`).want(t, http.StatusBadRequest)
		s.do(t, "POST", "/api/users", "", `{"email":"u@example.com","username":"unk","password":"correct horse battery","role":"admin"}`).want(t, http.StatusBadRequest)
		big := `{"email":"` + strings.Repeat("a", 1<<20+10) + `"}`
		s.do(t, "POST", "/api/users", "", big).want(t, http.StatusRequestEntityTooLarge)

		// Login: the same answer for an unknown login and a wrong password.
		wrong := s.do(t, "POST", "/api/auth/login", "", map[string]string{"login": "alice", "password": "wrong password"}).want(t, http.StatusUnauthorized)
		unknown := s.do(t, "POST", "/api/auth/login", "", map[string]string{"login": "nobody", "password": "wrong password"}).want(t, http.StatusUnauthorized)
		if wrong.Raw != unknown.Raw {
			t.Errorf("login failures differ: %s vs %s", wrong.Raw, unknown.Raw)
		}
		aliceTok := login(t, s, "ALICE@example.com", "correct horse battery")
		login(t, s, "Alice", "correct horse battery")

		me := s.do(t, "GET", "/api/users/me", aliceTok, nil).want(t, http.StatusOK)
		if me.id() != alice.id() || me.Body["email"] != "alice@example.com" {
			t.Errorf("me = %s", me.Raw)
		}
		s.do(t, "GET", "/api/users/me", "", nil).want(t, http.StatusUnauthorized)
		s.do(t, "GET", "/api/users/me", "garbage", nil).want(t, http.StatusUnauthorized)

		// Public and private views.
		path := fmt.Sprintf("/api/users/%d", alice.id())
		pub := s.do(t, "GET", path, "", nil).want(t, http.StatusOK)
		if _, ok := pub.Body["email"]; ok || pub.Body["username"] != "alice" || pub.Body["created_at"] == nil {
			t.Errorf("public view = %s", pub.Raw)
		}
		if priv := s.do(t, "GET", path, aliceTok, nil).want(t, http.StatusOK); priv.Body["email"] != "alice@example.com" {
			t.Errorf("self view = %s", priv.Raw)
		}
		s.do(t, "GET", "/api/users/999999999", "", nil).want(t, http.StatusNotFound)

		// Another user may neither see private fields nor change alice.
		bob := register(t, s, "bob@example.com", "bob")
		bobTok := login(t, s, "bob", "correct horse battery")
		if v := s.do(t, "GET", path, bobTok, nil).want(t, http.StatusOK); v.Body["email"] != nil {
			t.Errorf("bob sees alice's email: %s", v.Raw)
		}
		s.do(t, "PATCH", path, bobTok, map[string]string{"username": "mallory"}).want(t, http.StatusForbidden)
		s.do(t, "DELETE", path, bobTok, nil).want(t, http.StatusForbidden)

		// Self patch moves updated_at; clashes are 409.
		bobPath := fmt.Sprintf("/api/users/%d", bob.id())
		before := bob.Body["updated_at"].(string)
		p := s.do(t, "PATCH", bobPath, bobTok, map[string]string{"username": "robert"}).want(t, http.StatusOK)
		if p.Body["username"] != "robert" || !later(t, p.Body["updated_at"].(string), before) {
			t.Errorf("patch: username or updated_at not moved: %s (before %s)", p.Raw, before)
		}
		s.do(t, "PATCH", bobPath, bobTok, map[string]string{"email": "ALICE@example.com", "current_password": "correct horse battery"}).want(t, http.StatusConflict)
		s.do(t, "PATCH", bobPath, bobTok, map[string]string{"email": "bad"}).want(t, http.StatusUnprocessableEntity)
		// An email or password of one's own changes only with the current password.
		r = s.do(t, "PATCH", bobPath, bobTok, map[string]string{"email": "bob2@example.com"}).want(t, http.StatusUnprocessableEntity)
		if r.fieldMessage("current_password") == "" {
			t.Errorf("PATCH of an email without current_password: %s", r.Raw)
		}
		r = s.do(t, "PATCH", bobPath, bobTok, map[string]string{"email": "bob2@example.com", "current_password": "wrong horse battery"}).want(t, http.StatusUnprocessableEntity)
		if r.fieldMessage("current_password") == "" {
			t.Errorf("PATCH of an email with a wrong current_password: %s", r.Raw)
		}

		// An admin made with the CLI may change anyone and sees private views.
		if _, logs, err := runKura(t, env, "admin password 123\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
			t.Fatalf("users create --admin: %v\n%s", err, logs)
		}
		adminTok := login(t, s, "root", "admin password 123")
		if v := s.do(t, "GET", path, adminTok, nil).want(t, http.StatusOK); v.Body["email"] != "alice@example.com" {
			t.Errorf("admin view = %s", v.Raw)
		}
		s.do(t, "PATCH", path, adminTok, map[string]string{"username": "alice2"}).want(t, http.StatusOK)
		s.do(t, "PATCH", "/api/users/999999999", adminTok, map[string]string{"username": "ghost"}).want(t, http.StatusNotFound)

		// Lists: keyset and page modes; admins see private views.
		l := s.do(t, "GET", "/api/users?limit=2", aliceTok, nil).want(t, http.StatusOK)
		if items := l.Body["items"].([]any); len(items) != 2 || l.Body["next_cursor"] == nil {
			t.Errorf("keyset page = %s", l.Raw)
		}
		pg := s.do(t, "GET", "/api/users?page=1&per_page=2", adminTok, nil).want(t, http.StatusOK)
		if pg.Body["total"] != float64(3) || pg.Body["page"] != float64(1) || pg.Body["per_page"] != float64(2) {
			t.Errorf("page mode = %s", pg.Raw)
		}
		if first := pg.Body["items"].([]any)[0].(map[string]any); first["username"] != "root" || first["email"] == nil {
			t.Errorf("newest first with private view for an admin, got %v", first)
		}
		s.do(t, "GET", "/api/users?per_page=101&page=1", aliceTok, nil).want(t, http.StatusUnprocessableEntity)
		s.do(t, "GET", "/api/users?cursor=%21%21", aliceTok, nil).want(t, http.StatusUnprocessableEntity)
		s.do(t, "GET", "/api/users", "", nil).want(t, http.StatusUnauthorized)

		// A password change ends the user's other sessions, keeping the
		// one that made it.
		bobOther := login(t, s, "robert", "correct horse battery")
		s.do(t, "PATCH", bobPath, bobTok, map[string]string{"password": "a new long password", "current_password": "correct horse battery"}).want(t, http.StatusOK)
		s.do(t, "GET", "/api/users/me", bobOther, nil).want(t, http.StatusUnauthorized)
		s.do(t, "GET", "/api/users/me", bobTok, nil).want(t, http.StatusOK)
		bobTok = login(t, s, "robert", "a new long password")

		// Delete ends sessions; logout ends one.
		s.do(t, "DELETE", bobPath, bobTok, nil).want(t, http.StatusNoContent)
		s.do(t, "GET", "/api/users/me", bobTok, nil).want(t, http.StatusUnauthorized)
		s.do(t, "GET", bobPath, "", nil).want(t, http.StatusNotFound)
		s.do(t, "POST", "/api/auth/logout", aliceTok, nil).want(t, http.StatusNoContent)
		s.do(t, "GET", "/api/users/me", aliceTok, nil).want(t, http.StatusUnauthorized)

		// Health, liveness, unknown routes and methods.
		h := s.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)
		if h.Body["status"] != "healthy" || h.Body["database"] != "connected" {
			t.Errorf("health = %s", h.Raw)
		}
		s.do(t, "GET", "/health/live", "", nil).want(t, http.StatusOK)
		if r := s.do(t, "GET", "/nope", "", nil).want(t, http.StatusNotFound); r.errorField("code") != "not_found" {
			t.Errorf("unknown route = %s", r.Raw)
		}
		if r := s.do(t, "PUT", "/api/users", "", nil).want(t, http.StatusMethodNotAllowed); r.Header.Get("Allow") == "" {
			t.Errorf("405 without Allow")
		}

		// No password or token ever reaches the logs.
		for _, secret := range []string{"correct horse battery", "admin password 123", aliceTok, adminTok} {
			if strings.Contains(s.logs.String(), secret) {
				t.Errorf("a secret reached the logs")
			}
		}
	})
}

func later(t *testing.T, a, b string) bool {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil {
		t.Fatalf("timestamps are not RFC 3339: %q %q", a, b)
	}
	return ta.After(tb)
}
