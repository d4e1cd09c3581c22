package notes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	kuraapp "github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/examples/notes"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/openapitest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// app is a running notes.Run on port 0.
type app struct {
	t      *testing.T
	url    string
	client *http.Client        // checks every response against /openapi.json
	smtp   *testenv.SMTPServer // the mail server the app sends its share notices to
}

// metricsToken is the bearer token of the app's GET /metrics.
const metricsToken = "notes-test-metrics-token-0123456789"

// startApp runs the app on a fresh database of the engine until the test
// ends, and checks that it then shuts down cleanly.
func startApp(t *testing.T, d sqldb.Dialect) *app {
	t.Helper()
	a := &app{t: t, client: openapitest.Client(t), smtp: testenv.SMTP(t, testenv.SMTPOptions{})}
	cfg := kuraapp.DefaultConfig()
	cfg.SMTPURL, cfg.MailFrom = a.smtp.URL(""), "Notes <no-reply@notes.test>" // the share notice by mail
	cfg.DatabaseURL, cfg.Addr, cfg.BackupDir = dbtest.URL(t, d), "127.0.0.1:0", t.TempDir()
	cfg.MetricsAddr, cfg.MetricsToken = "", metricsToken // /metrics on the API, behind the token
	cfg.DrainDelay, cfg.ShutdownTimeout, cfg.LogLevel = 0, kuraapp.Seconds(10*time.Second), slog.LevelWarn
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- notes.Run(ctx, cfg, kuraapp.Options{
			Stderr:  tbWriter{t},
			Serving: func(_ *kuraapp.App, u string) { urls <- u },
		})
	}()
	select {
	case a.url = <-urls:
	case err := <-done:
		cancel()
		t.Fatalf("the app did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// tbWriter writes the app's log to the test's.
type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// call sends a request with a JSON body (nil for none) and returns the
// status and the decoded body.
func (a *app) call(method, path, token string, body any) (int, map[string]any) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.url+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if b, _ := io.ReadAll(res.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			a.t.Fatalf("%s %s: %d, body %q is not a JSON object", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode, out
}

func (a *app) must(want int, method, path, token string, body any) map[string]any {
	a.t.Helper()
	status, out := a.call(method, path, token, body)
	if status != want {
		a.t.Fatalf("%s %s: %d %v; want %d", method, path, status, out, want)
	}
	return out
}

// signUp registers a user through kura's own routes and logs them in.
func (a *app) signUp(name string) (id int64, token string) {
	a.t.Helper()
	u := a.must(201, "POST", "/api/users", "", map[string]string{"email": name + "@example.com", "username": name, "password": "a long passphrase"})
	out := a.must(200, "POST", "/api/auth/login", "", map[string]string{"login": name, "password": "a long passphrase"})
	return int64(u["id"].(float64)), out["token"].(string)
}

func errorCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestApp_EndToEnd(t *testing.T) {
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			a := startApp(t, d)
			_, ann := a.signUp("ann")
			bobID, bob := a.signUp("bob")

			// kura's middleware, auth and error shape cover the app's routes.
			if status, out := a.call("GET", "/api/notes", "", nil); status != 401 || errorCode(out) != "unauthorized" {
				t.Fatalf("anonymous list: %d %v", status, out)
			}
			note := a.must(201, "POST", "/api/notes", ann, map[string]any{"title": "Groceries", "body": "milk", "tags": []string{"home", "food"}})
			id := int64(note["id"].(float64))
			path := fmt.Sprintf("/api/notes/%d", id)
			if status, out := a.call("POST", "/api/notes", ann, map[string]any{"title": "Groceries"}); status != 409 || out["error"].(map[string]any)["fields"].(map[string]any)["title"] == nil {
				t.Fatalf("same title: %d %v", status, out)
			}
			if status, out := a.call("POST", "/api/notes", ann, map[string]any{"title": "x", "colour": "red"}); status != 400 || errorCode(out) != "bad_request" {
				t.Fatalf("unknown field: %d %v", status, out)
			}
			if status, out := a.call("GET", path, bob, nil); status != 404 || errorCode(out) != "not_found" {
				t.Fatalf("bob reads ann's note before the share: %d %v", status, out)
			}

			// The cached read sees a change at once.
			a.must(200, "GET", path, ann, nil)
			a.must(200, "PATCH", path, ann, map[string]any{"body": "milk, eggs"})
			if got := a.must(200, "GET", path, ann, nil); got["body"] != "milk, eggs" {
				t.Fatalf("read after update: %v", got)
			}

			// Sharing makes the note readable by bob at once, and tells him
			// off the request path.
			a.must(204, "POST", path+"/shares", ann, map[string]any{"user_id": bobID})
			if got := a.must(200, "GET", path, bob, nil); got["title"] != "Groceries" || got["shared_with"] != nil {
				t.Fatalf("bob reads the shared note: %v", got)
			}
			if status, _ := a.call("PATCH", path, bob, map[string]any{"body": "mine"}); status != 403 {
				t.Fatalf("bob changes ann's note: %d", status)
			}
			notifications := fmt.Sprintf("/api/users/%d/notifications", bobID)
			testenv.Wait(t, 0, "the share notification", func() bool {
				items, _ := a.must(200, "GET", notifications, bob, nil)["items"].([]any)
				for _, it := range items {
					if m := it.(map[string]any); m["kind"] == "note_shared" && strings.Contains(m["message"].(string), `ann shared the note "Groceries"`) {
						return true
					}
				}
				return false
			})
			// The share notice by mail, sent in the share's transaction,
			// delivered by the SMTP server.
			got := a.smtp.WaitMessages(1)
			if len(got) != 1 || !strings.Contains(got[0].To, "bob@example.com") || got[0].Subject != `ann shared the note "Groceries" with you` ||
				!strings.Contains(got[0].Text, "Hello bob") || !strings.Contains(got[0].HTML, "Groceries") {
				t.Fatalf("share mail: %d messages, first %+v", len(got), got[0])
			}
			shared := a.must(200, "GET", "/api/notes/shared?limit=5", bob, nil)
			if items := shared["items"].([]any); len(items) != 1 || shared["next_cursor"] != nil {
				t.Fatalf("bob's shared notes: %v", shared)
			}

			// Lists, keyset and offset, and the tag counts.
			a.must(201, "POST", "/api/notes", ann, map[string]any{"title": "Books", "tags": []string{"home"}})
			page := a.must(200, "GET", "/api/notes?limit=1", ann, nil)
			next, _ := page["next_cursor"].(string)
			if items := page["items"].([]any); len(items) != 1 || items[0].(map[string]any)["title"] != "Books" || next == "" {
				t.Fatalf("first page: %v", page)
			}
			page = a.must(200, "GET", "/api/notes?limit=1&cursor="+next, ann, nil)
			if items := page["items"].([]any); len(items) != 1 || items[0].(map[string]any)["title"] != "Groceries" || page["next_cursor"] != nil {
				t.Fatalf("second page: %v", page)
			}
			if off := a.must(200, "GET", "/api/notes?page=1&per_page=10", ann, nil); off["total"] != float64(2) {
				t.Fatalf("offset page: %v", off)
			}
			tags := a.must(200, "GET", "/api/notes/tags", ann, nil)
			if b, _ := json.Marshal(tags["items"]); string(b) != `[{"count":2,"tag":"home"},{"count":1,"tag":"food"}]` {
				t.Fatalf("tags: %s", b)
			}

			// Delete, then the note is gone for both.
			a.must(204, "DELETE", path, ann, nil)
			a.must(404, "GET", path, ann, nil)
			a.must(404, "GET", path, bob, nil)

			// kura's health check and metrics come for free, the app's
			// routes counted by their pattern.
			if h := a.must(200, "GET", "/health", "", nil); h["status"] != "healthy" || h["database"] != "connected" {
				t.Fatalf("health: %v", h)
			}
			req, _ := http.NewRequest("GET", a.url+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer "+metricsToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, r := range []string{"POST /api/notes", "GET /api/notes/{id}", "POST /api/notes/{id}/shares", "POST /api/users"} {
				if !strings.Contains(string(body), `route="`+r+`"`) {
					t.Fatalf("the metrics never saw %q:\n%s", r, body)
				}
			}
		})
	}
}
