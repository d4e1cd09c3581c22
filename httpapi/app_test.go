package httpapi_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

// appRoutes adds the routes of a small application to e's server.
func appRoutes(e *env) {
	e.srv.HandleAuth("POST /api/things", func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Name string `json:"name"`
		}
		if err := e.srv.ReadJSON(w, r, &in); err != nil {
			return err
		}
		if in.Name == "" {
			return kura.FieldError(kura.EINVALID, "name", "is required")
		}
		u := kura.UserFromContext(r.Context())
		e.srv.WriteJSON(w, r, http.StatusCreated, map[string]any{"name": in.Name, "owner": u.ID})
		return nil
	})
	e.srv.Handle("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) error {
		id, err := httpapi.PathID(r, "id", "Thing")
		if err != nil {
			return err
		}
		if id == 13 {
			return errors.New("the store said something secret")
		}
		if id == 14 {
			panic("a bug")
		}
		caller, err := e.srv.Caller(r)
		if err != nil {
			return err
		}
		e.srv.WriteJSON(w, r, http.StatusOK, map[string]any{"id": id, "signed_in": caller != nil})
		return nil
	})
	e.srv.Handle("GET /api/things", func(w http.ResponseWriter, r *http.Request) error {
		opt, err := httpapi.ListOptions(r)
		if err != nil {
			return err
		}
		p := &kura.Page[int]{Items: []int{3, 2}, NextCursor: kura.EncodeCursor(2)}
		if opt.Page > 0 {
			p = &kura.Page[int]{Items: []int{3, 2}, Page: opt.Page, PerPage: opt.PerPage, Total: 7}
		}
		e.srv.WriteJSON(w, r, http.StatusOK, httpapi.PageJSON(p, func(n int) map[string]int { return map[string]int{"n": n} }))
		return nil
	})
}

func TestServer_Handle(t *testing.T) {
	var mu sync.Mutex
	var seen []httpapi.RequestInfo
	e := newEnv(t, func(c *httpapi.Config) {
		c.OnRequest = func(ri httpapi.RequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, ri)
		}
	})
	appRoutes(e)
	_, token := e.mustUser("ann", false)

	t.Run("AuthRequired", func(t *testing.T) {
		mustError(t, e.do("POST", "/api/things", map[string]string{"name": "x"}, ""), 401, kura.EUNAUTHORIZED)
		mustError(t, e.do("POST", "/api/things", map[string]string{"name": "x"}, "not-a-token"), 401, kura.EUNAUTHORIZED)
	})
	t.Run("OK", func(t *testing.T) {
		w := e.do("POST", "/api/things", map[string]string{"name": "lamp"}, token)
		mustStatus(t, w, 201)
		if !strings.Contains(w.Body.String(), `"name":"lamp"`) || w.Header().Get(httpapi.RequestIDHeader) == "" {
			t.Fatalf("body %s, headers %v", w.Body, w.Header())
		}
	})
	t.Run("ErrorShape", func(t *testing.T) {
		got := mustError(t, e.do("POST", "/api/things", map[string]string{"name": ""}, token), 422, kura.EINVALID)
		if got.Error.Fields["name"] != "is required" {
			t.Fatalf("fields = %v", got.Error.Fields)
		}
		mustError(t, e.do("POST", "/api/things", `{"name":"x","extra":1}`, token), 400, kura.EBADREQUEST)
		mustError(t, e.do("GET", "/api/things/abc", nil, ""), 404, kura.ENOTFOUND)
		w := e.do("GET", "/api/things/13", nil, "")
		mustError(t, w, 500, kura.EINTERNAL)
		if strings.Contains(w.Body.String(), "secret") || !strings.Contains(e.logs.String(), "secret") {
			t.Fatalf("internal cause leaked or not logged: %s", w.Body)
		}
		mustError(t, e.do("GET", "/api/things/14", nil, ""), 500, kura.EINTERNAL)
		w = e.do("DELETE", "/api/things/1", nil, "")
		mustError(t, w, 405, kura.EMETHOD)
		if allow := w.Header().Get("Allow"); !strings.Contains(allow, "GET") {
			t.Fatalf("Allow = %q", allow)
		}
	})
	t.Run("OptionalCaller", func(t *testing.T) {
		w := e.do("GET", "/api/things/5", nil, token)
		mustStatus(t, w, 200)
		if !strings.Contains(w.Body.String(), `"signed_in":true`) {
			t.Fatalf("body %s", w.Body)
		}
		mustError(t, e.do("GET", "/api/things/5", nil, "bad"), 401, kura.EUNAUTHORIZED)
	})
	t.Run("Lists", func(t *testing.T) {
		w := e.do("GET", "/api/things?limit=2", nil, "")
		mustStatus(t, w, 200)
		if got := w.Body.String(); !strings.Contains(got, `"items":[{"n":3},{"n":2}]`) || !strings.Contains(got, `"next_cursor":"`) {
			t.Fatalf("keyset body %s", got)
		}
		w = e.do("GET", "/api/things?page=2&per_page=2", nil, "")
		if got := w.Body.String(); !strings.Contains(got, `"page":2,"per_page":2,"total":7`) {
			t.Fatalf("offset body %s", got)
		}
		mustError(t, e.do("GET", "/api/things?limit=500", nil, ""), 422, kura.EINVALID)
	})
	t.Run("OnRequest", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		var routes []string
		for _, ri := range seen {
			if ri.Route == "POST /api/things" && ri.Status == 201 && ri.Bytes > 0 && ri.Duration > 0 {
				routes = append(routes, ri.Route)
			}
			if strings.Contains(ri.Route, "/5") || strings.Contains(ri.Route, "abc") {
				t.Fatalf("a raw path reached the hook: %+v", ri)
			}
		}
		if len(routes) != 1 {
			t.Fatalf("hook saw %d created things; all: %+v", len(routes), seen)
		}
	})
}

func TestConfig_Validate(t *testing.T) {
	if err := (httpapi.Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "Users") {
		t.Fatalf("empty config: %v", err)
	}
	cfg := httpapi.Config{Users: newFakeStore(), Sessions: newFakeStore(), ReadTimeout: -1,
		Checks: []httpapi.HealthCheck{{Name: "status"}}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "ReadTimeout") || !strings.Contains(err.Error(), "Checks") {
		t.Fatalf("Validate = %v", err)
	}
	if d := (httpapi.Config{}).WithDefaults(); d.Addr != httpapi.DefaultAddr || d.MaxBodyBytes != httpapi.DefaultMaxBodyBytes {
		t.Fatalf("WithDefaults = %+v", d)
	}
}
