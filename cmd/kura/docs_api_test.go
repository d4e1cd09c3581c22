package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/testenv"
)

// The tests of this file hold what the README says of the HTTP API to
// what kura serve answers: its routes, its error codes and /health's body.

// readmeAPIRow returns the cells of the README's API table row of route,
// such as "GET /health".
func readmeAPIRows(t *testing.T) map[string][]string {
	t.Helper()
	readme := readDoc(t, "README.md")
	_, table, ok := strings.Cut(readme, "| method and path | who | what |\n| --- | --- | --- |\n")
	if !ok {
		t.Fatal("README.md has no table of the API's routes")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	rows := map[string][]string{}
	for _, row := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(row, "| "), " | ")
		route := strings.Trim(cells[0], "`")
		if !regexp.MustCompile(`^[A-Z]+ /\S*$`).MatchString(route) || len(cells) != 3 {
			t.Fatalf("README's API row %q: want | `METHOD /path` | who | what |", row)
		}
		rows[route] = cells
	}
	return rows
}

// TestREADME_Health: the README's example of /health's body has every key
// a kura serve with Redis answers, and no other; and it names every word
// of the backup note.
func TestREADME_Health(t *testing.T) {
	redis := testenv.RedisURL(t)
	dir := t.TempDir()
	s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(dir, "kura.db"), "REDIS_URL="+redis,
		"KURA_CACHE_PREFIX=docs-"+testenv.RandomSuffix()+":")
	// On a loaded machine the first pings may time out ("busy", 503):
	// the body's keys are the point here, so wait for a healthy answer.
	var r response
	testenv.Wait(t, 30*time.Second, "a healthy /health", func() bool {
		r = s.do(t, "GET", "/health", "", nil)
		return r.Status == http.StatusOK
	})
	served := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Body {
			if !yield(k) {
				return
			}
		}
	})
	cells := readmeAPIRows(t)["GET /health"]
	if cells == nil {
		t.Fatal("README's API table has no GET /health")
	}
	example := regexp.MustCompile("`(\\{[^`]*\\})`").FindStringSubmatch(cells[2])
	var body map[string]any
	if example == nil || json.Unmarshal([]byte(example[1]), &body) != nil {
		t.Fatalf("README's GET /health row has no example body in JSON: %q", cells[2])
	}
	var documented []string
	for k := range body {
		documented = append(documented, k)
	}
	if slices.Sort(documented); !slices.Equal(documented, served) {
		t.Errorf("README's /health body has %v; kura serve with Redis answers %v (%s)", documented, served, r.Raw)
	}
	for _, word := range []string{app.BackupNoteOK, app.BackupNoteOff, app.BackupNoteNone, app.BackupNoteFailed, app.BackupNoteOverdue, app.BackupNoteUnknown} {
		if !strings.Contains(cells[2], "`"+word+"`") {
			t.Errorf("README's GET /health row does not say that backup may be %q", word)
		}
	}
}

// TestREADME_Routes: every route in the README's API table is served (the
// answer is the route's, not the 404 or 405 of a path no route has), and
// every route httpapi registers is in the table.
func TestREADME_Routes(t *testing.T) {
	const token = "docs-metrics-token-0123456789"
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	env := []string{"DATABASE_URL=" + dbURL}
	if _, logs, err := runKura(t, env, "an admin's long password\n", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, logs)
	}
	s := startKura(t, append(env, "KURA_METRICS_TOKEN="+token, // and the account flows' routes
		"KURA_MAIL_TRANSPORT=log", "KURA_MAIL_FROM=no-reply@kura.test", "KURA_PUBLIC_URL=http://localhost:5173")...)
	admin := login(t, s, "root", "an admin's long password")
	other := register(t, s, "ann@example.com", "ann").id()
	rows := readmeAPIRows(t)
	for route := range rows {
		method, path, _ := strings.Cut(route, " ")
		id := "1"
		if method == "DELETE" {
			id = strconv.FormatInt(other, 10)
		}
		path = strings.ReplaceAll(path, "{id}", id)
		bearer := admin
		if path == "/metrics" {
			bearer = token
		}
		var body any
		if method == "POST" || method == "PATCH" {
			body = map[string]string{}
		}
		if route == "POST /api/auth/logout" {
			bearer = login(t, s, "root", "an admin's long password") // a session of its own to end
		}
		if path == "/metrics" { // Prometheus's text, not JSON
			req, _ := http.NewRequest(method, s.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Errorf("README's %s: %v %v", route, res, err)
			}
			if err == nil {
				res.Body.Close()
			}
			continue
		}
		r := s.do(t, method, path, bearer, body)
		if r.Status == http.StatusMethodNotAllowed || (r.Status == http.StatusNotFound && r.errorField("message") == "Not found.") {
			t.Errorf("README's %s: %s %s answers %d %s, as a path no route serves", route, method, path, r.Status, r.Raw)
		}
	}
	src := readDoc(t, "httpapi/routes.go")
	for _, m := range regexp.MustCompile(`s\.handle\("([A-Z]+ /[^"]*)"`).FindAllStringSubmatch(src, -1) {
		route := strings.Replace(m[1], "/{$}", "/", 1)
		if rows[route] == nil {
			t.Errorf("httpapi serves %s; the README's API table does not list it", route)
		}
	}
}

// TestREADME_ErrorCodes: the README names every error code with the
// status httpapi answers it with.
func TestREADME_ErrorCodes(t *testing.T) {
	readme := readDoc(t, "README.md")
	_, para, ok := strings.Cut(readme, "with codes ")
	if !ok {
		t.Fatal("README.md does not list the error codes")
	}
	para, _, _ = strings.Cut(para, ". ")
	documented := map[string]int{}
	for _, m := range regexp.MustCompile("`([a-z_]+)` \\((\\d{3})").FindAllStringSubmatch(para, -1) {
		documented[m[1]], _ = strconv.Atoi(m[2])
	}
	codes := regexp.MustCompile(`(?m)^\s+E[A-Z]+\s+= "([a-z_]+)"`).FindAllStringSubmatch(readDoc(t, "error.go"), -1)
	if len(codes) < 5 {
		t.Fatalf("only %d error codes found in error.go", len(codes))
	}
	for _, m := range codes {
		if got, want := documented[m[1]], httpapi.ErrorStatus(m[1]); got != want {
			t.Errorf("README: %s is %d; httpapi answers it with %d", m[1], got, want)
		}
		delete(documented, m[1])
	}
	for code := range documented {
		t.Errorf("README names the error code %s, which kura does not have", code)
	}
}
