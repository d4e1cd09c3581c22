package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// keyed sends a JSON body with an Idempotency-Key and returns the status,
// the headers and the raw body.
func (s *server) keyed(t *testing.T, method, path, key, body string) response {
	t.Helper()
	return s.keyedAs(t, method, path, "", key, body)
}

// keyedAs is keyed with a bearer token, if not "".
func (s *server) keyedAs(t *testing.T, method, path, token, key, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Error(err)
		return response{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
}

// TestEndToEnd_Idempotency: two kura serve on one database, as behind a
// balancer, get the same registration with the same Idempotency-Key at
// once: one user is created and every answer is the same 201; the key
// with another body is 422 on either; a key past 24 hours is deleted by
// the housekeeping job at start.
func TestEndToEnd_Idempotency(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		// A key two days old, which the housekeeping job deletes at start.
		if _, logs, err := runKura(t, []string{"DATABASE_URL=" + dbURL}, "", "migrate", "up"); err != nil {
			t.Fatalf("migrate up: %v\n%s", err, logs)
		}
		db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		old := db.TimeArg(time.Now().Add(-48 * time.Hour))
		if _, err := db.Writer().Exec(db.Rebind(`INSERT INTO idempotency_keys (scope, idem_key, fingerprint, claim, status, created_at, claimed_at)
			VALUES ('addr:192.0.2.1', 'old', ?, 'c', 201, ?, ?)`), make([]byte, 32), old, old); err != nil {
			t.Fatal(err)
		}

		servers := []*server{startKura(t, "DATABASE_URL="+dbURL), startKura(t, "DATABASE_URL="+dbURL)}
		const body = `{"email":"ann@example.com","username":"ann","password":"correct horse battery"}`
		const n = 12
		answers := make([]response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = servers[i%2].keyed(t, "POST", "/api/users", "signup-0b9e2c", body)
			}()
		}
		wg.Wait()
		replays := 0
		for i, r := range answers {
			if r.Status != http.StatusCreated || r.Raw != answers[0].Raw || r.Header.Get("Location") != answers[0].Header.Get("Location") {
				t.Errorf("answer %d (server %d): %d %s %q; want answer 0's: %d %s", i, i%2, r.Status, r.Header.Get("Location"), r.Raw, answers[0].Status, answers[0].Raw)
			}
			if r.Header.Get("Idempotent-Replayed") == "true" {
				replays++
			}
		}
		if replays != n-1 {
			t.Errorf("%d of %d answers replayed; want %d", replays, n, n-1)
		}
		var users int
		if err := db.Reader().QueryRow("SELECT COUNT(*) FROM users").Scan(&users); err != nil {
			t.Fatal(err)
		}
		if users != 1 {
			t.Fatalf("%d users after %d registrations with one key; want 1", users, n)
		}
		for _, s := range servers {
			r := s.keyed(t, "POST", "/api/users", "signup-0b9e2c", `{"email":"bob@example.com","username":"bob","password":"correct horse battery"}`)
			if r.Status != http.StatusUnprocessableEntity || !bytes.Contains([]byte(r.Raw), []byte(`"idempotency_key_reused"`)) {
				t.Errorf("the key with another body: %d %s; want 422 idempotency_key_reused", r.Status, r.Raw)
			}
		}
		if err := testenv.WaitErr(30*time.Second, func() bool {
			var n int
			return db.Reader().QueryRow("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'old'").Scan(&n) == nil && n == 0
		}); err != nil {
			t.Error("the key two days old is still there: idempotency_keys.delete_expired did not run at start")
		}
	})
}
