package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/openapitest"
)

// stats is a kura.StatsService of fixed figures.
type stats struct{}

func (stats) Stats(context.Context) (*kura.Stats, error) { return &kura.Stats{Users: 1}, nil }

// everything configures every optional route of kura's.
func everything(c *httpapi.Config) {
	c.Stats = stats{}
	c.Notifications = c.Users.(kura.NotificationService)
	c.Admin = c.Users.(kura.AdminService)
	c.Index = &httpapi.Index{Name: "kura", Links: map[string]string{"health": "/health"}}
	c.Accounts = &fakeAccounts{}
}

// TestOpenAPI_Coverage holds the description to the routes: every route
// registered is described, and every operation described is served.
func TestOpenAPI_Coverage(t *testing.T) {
	for name, edit := range map[string]func(*httpapi.Config){"Everything": everything, "Minimal": func(*httpapi.Config) {}} {
		t.Run(name, func(t *testing.T) {
			srv := newEnv(t, edit).srv
			undescribed, unserved := srv.OpenAPICoverage()
			if len(undescribed) > 0 {
				t.Errorf("routes registered that httpapi/openapi.json does not describe: %v", undescribed)
			}
			if len(unserved) > 0 {
				t.Errorf("operations httpapi/openapi.json describes that no route serves: %v", unserved)
			}
		})
	}
	t.Run("EveryOperation", func(t *testing.T) {
		// With every optional part set, the routes are the description's
		// operations exactly.
		srv := newEnv(t, everything).srv
		var ops []string
		for _, p := range srv.Routes() {
			ops = append(ops, strings.Replace(p, "{$}", "", 1))
		}
		slices.Sort(ops)
		if got, want := strings.Join(ops, "\n"), strings.Join(operationsOf(t, httpapi.OpenAPI()), "\n"); got != want {
			t.Fatalf("routes:\n%s\n\ndescribed:\n%s", got, want)
		}
	})
	t.Run("AppRoute", func(t *testing.T) {
		// An application's route without a description is found; with one
		// (AddOpenAPI) it is covered; a description without a route too.
		e := newEnv(t)
		appRoutes(e)
		if undescribed, _ := e.srv.OpenAPICoverage(); !slices.Equal(undescribed, []string{"POST /api/things", "GET /api/things/{id}", "GET /api/things"}) {
			t.Fatalf("undescribed = %v", undescribed)
		}
		err := e.srv.AddOpenAPI([]byte(`{"paths": {"/api/things": {"get": {"responses": {"200": {"description": "ok"}}}},
			"/api/ghosts": {"get": {"responses": {"200": {"description": "ok"}}}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		undescribed, unserved := e.srv.OpenAPICoverage()
		if !slices.Equal(undescribed, []string{"POST /api/things", "GET /api/things/{id}"}) || !slices.Equal(unserved, []string{"GET /api/ghosts"}) {
			t.Fatalf("undescribed = %v, unserved = %v", undescribed, unserved)
		}
	})
	t.Run("ErrClash", func(t *testing.T) {
		srv := newEnv(t).srv
		err := srv.AddOpenAPI([]byte(`{"paths": {"/api/users": {"post": {"responses": {"201": {"description": "mine"}}}}},
			"components": {"schemas": {"Error": {"type": "string"}}}}`))
		if err == nil || !strings.Contains(err.Error(), "POST /api/users is described already") || !strings.Contains(err.Error(), "components.schemas.Error") {
			t.Fatalf("err = %v", err)
		}
		if err := srv.AddOpenAPI([]byte(`{"openapi": "3.1.0"}`)); err == nil {
			t.Fatal("a description without paths was added")
		}
	})
}

// operationsOf returns the operations of an OpenAPI document, sorted, as
// "METHOD /path".
func operationsOf(t *testing.T, doc []byte) []string {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for p, item := range d.Paths {
		for m := range item {
			if m != "parameters" && m != "summary" && m != "description" {
				ops = append(ops, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// TestOpenAPI_Served: GET /openapi.json answers the description of the
// routes this server has, and GET / links to it.
func TestOpenAPI_Served(t *testing.T) {
	e := newEnv(t)
	w := e.do("GET", "/openapi.json", nil, "")
	mustStatus(t, w, http.StatusOK)
	if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if _, err := openapitest.New(w.Body.Bytes()); err != nil {
		t.Fatalf("the served description is not valid: %v", err)
	}
	ops := operationsOf(t, w.Body.Bytes())
	if slices.Contains(ops, "GET /api/stats") || !slices.Contains(ops, "GET /api/users/{id}") {
		t.Errorf("served operations without Stats = %v", ops)
	}
	e = newEnv(t, everything)
	var idx httpapi.Index
	mustDecode(t, e.do("GET", "/", nil, ""), &idx)
	if idx.Links["openapi"] != "/openapi.json" || idx.Links["health"] != "/health" {
		t.Errorf("GET / links = %v", idx.Links)
	}
}

// TestOpenAPI_Validator shows that the check every test's responses go
// through finds what breaks the description.
func TestOpenAPI_Validator(t *testing.T) {
	v, err := openapitest.New(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string // in the error; "" for none
	}{
		{"OK", "GET", "/api/users/me", 200, json, `{"id":1,"email":"a@example.com","username":"a","role":"user","created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}`, ""},
		{"MissingField", "GET", "/api/users/me", 200, json, `{"id":1,"username":"a"}`, "doesn't match schema"},
		{"ExtraField", "GET", "/api/users/1", 200, json, `{"id":1,"username":"a","created_at":"2025-01-02T03:04:05Z","password":"x"}`, "doesn't match schema"},
		{"UndescribedStatus", "GET", "/health/live", 418, json, `{"error":{"code":"internal","message":"x"}}`, "status is not supported"},
		{"UnknownCode", "GET", "/api/users/me", 401, http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {"Bearer"}}, `{"error":{"code":"nope","message":"x"}}`, "doesn't match schema"},
		{"NoRetryAfter", "GET", "/api/users/me", 429, json, `{"error":{"code":"rate_limited","message":"x"}}`, "Retry-After"},
		{"BodyOn204", "DELETE", "/api/users/1", 204, json, `{}`, "with a body"},
		{"UndescribedRoute", "GET", "/api/nothing", 200, json, `{}`, "no operation"},
		{"NoRouteErrorShape", "GET", "/api/nothing", 404, json, `{"error":{"code":"not_found","message":"Not found."}}`, ""},
		{"NoRouteNotErrorShape", "GET", "/api/nothing", 404, json, `{"oops":1}`, "not in the Error shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(httptest.NewRequest(tc.method, tc.path, nil), tc.status, tc.header, []byte(tc.body))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOpenAPI_Lint: redocly lint finds no error in the description
// (under CI, where .ci/run installs redocly, it must run).
func TestOpenAPI_Lint(t *testing.T) {
	openapitest.Lint(t, httpapi.OpenAPI())
}
