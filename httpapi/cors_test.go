package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/kura-dev/kura/httpapi"
)

const appOrigin = "https://app.example.com"

// corsHeaders returns the Access-Control-* headers of a response.
func corsHeaders(w *httptest.ResponseRecorder) []string {
	var got []string
	for k := range w.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			got = append(got, k)
		}
	}
	return got
}

func preflight(e *env, path, origin, method string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("OPTIONS", path, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	return e.serve(req)
}

func TestCORS(t *testing.T) {
	t.Run("OffByDefault", func(t *testing.T) {
		e := newEnv(t)
		w := preflight(e, "/api/users", appOrigin, "POST")
		mustError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := corsHeaders(w); len(got) != 0 {
			t.Errorf("CORS headers without CORSOrigins: %v", got)
		}
		w = e.doHeader("GET", "/health/live", "Origin", appOrigin)
		if got := corsHeaders(w); len(got) != 0 || w.Header().Get("Vary") != "" {
			t.Errorf("CORS headers without CORSOrigins: %v, Vary %q", got, w.Header().Get("Vary"))
		}
	})

	e := newEnv(t, func(c *httpapi.Config) { c.CORSOrigins = []string{appOrigin, "http://localhost:5173"} })
	t.Run("Preflight", func(t *testing.T) {
		w := preflight(e, "/api/users/7", appOrigin, "PATCH")
		mustStatus(t, w, http.StatusNoContent)
		h := w.Header()
		if got := h.Get("Access-Control-Allow-Origin"); got != appOrigin {
			t.Errorf("Allow-Origin = %q", got)
		}
		methods := strings.Split(h.Get("Access-Control-Allow-Methods"), ", ")
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			if !slices.Contains(methods, m) {
				t.Errorf("Allow-Methods = %v, want %s", methods, m)
			}
		}
		if slices.Contains(methods, "POST") {
			t.Errorf("Allow-Methods = %v: /api/users/{id} has no POST", methods)
		}
		if got := h.Get("Access-Control-Allow-Headers"); got != "Authorization, Content-Type, Idempotency-Key" {
			t.Errorf("Allow-Headers = %q", got)
		}
		if got := h.Get("Access-Control-Max-Age"); got != "600" {
			t.Errorf("Max-Age = %q", got)
		}
		if got := h.Values("Vary"); !slices.Contains(got, "Origin") {
			t.Errorf("Vary = %v, want Origin", got)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Error("credentials allowed: the API uses bearer tokens only")
		}
	})
	t.Run("PreflightSecondOrigin", func(t *testing.T) {
		w := preflight(e, "/api/users", "http://localhost:5173", "POST")
		mustStatus(t, w, http.StatusNoContent)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
			t.Errorf("Allow-Origin = %q", got)
		}
	})
	t.Run("ActualRequest", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/health/live", nil)
		req.Header.Set("Origin", appOrigin)
		w := e.serve(req)
		mustStatus(t, w, http.StatusOK)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != appOrigin {
			t.Errorf("Allow-Origin = %q", got)
		}
		if got := w.Header().Get("Access-Control-Expose-Headers"); !strings.Contains(got, "X-Request-Id") {
			t.Errorf("Expose-Headers = %q", got)
		}
		if got := w.Header().Values("Vary"); !slices.Contains(got, "Origin") {
			t.Errorf("Vary = %v, want Origin", got)
		}
	})
	t.Run("DisallowedOrigin", func(t *testing.T) {
		for _, origin := range []string{"https://evil.example.com", "https://app.example.com.evil.com", "http://app.example.com", "https://APP.example.com", "null"} {
			w := preflight(e, "/api/users", origin, "POST")
			mustError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
			if got := corsHeaders(w); len(got) != 0 {
				t.Errorf("%s: preflight CORS headers %v", origin, got)
			}
			w = e.doHeader("GET", "/health/live", "Origin", origin)
			mustStatus(t, w, http.StatusOK)
			if got := corsHeaders(w); len(got) != 0 {
				t.Errorf("%s: CORS headers %v", origin, got)
			}
		}
	})
	t.Run("UnknownPath", func(t *testing.T) {
		w := preflight(e, "/nope", appOrigin, "GET")
		mustError(t, w, http.StatusNotFound, "not_found")
	})
}

func TestCORS_ConfigValidate(t *testing.T) {
	store := newFakeStore()
	for _, o := range []string{"*", "https://app.example.com/", "https://App.example.com", "app.example.com", "ftp://x.example", "https://app.example.com/path", "null",
		// Wildcards anywhere but the first label, over a public suffix,
		// or with the scheme or the port left open.
		"https://app.*.com", "https://*.*.example.com", "https://a*.example.com", "https://*example.com", "https://*",
		"https://*.com", "https://*.co.uk", "https://*.github.io", "https://*.localhost", "http://*.0.0.1", "*.example.com",
		"*://*.example.com", "https://*.example.com:*", "https://*.example.com:", "https://*.example.com/", "https://*.Example.com",
		"ftp://*.example.com", "https://*.example.com.", "https://*.exa_mple.com", "http://localhost:*"} {
		err := httpapi.Config{Users: store, Sessions: store, CORSOrigins: []string{o}}.Validate()
		if err == nil || !strings.Contains(err.Error(), "CORSOrigins") {
			t.Errorf("%q: Validate = %v, want an error naming CORSOrigins", o, err)
		}
	}
	if err := (httpapi.Config{Users: store, Sessions: store, CORSOrigins: []string{"https://app.example.com:8443", "http://127.0.0.1:3000",
		"https://*.example.com", "http://*.dev.example.co.uk:8080", "https://*.xn--bcher-kva.de"}}).Validate(); err != nil {
		t.Errorf("valid origins refused: %v", err)
	}
}

// TestCORS_Pattern: https://*.example.com lets the pages of each single
// subdomain of example.com, on https and the default port, read the
// answers; nothing else, however it is spelled to look alike.
func TestCORS_Pattern(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.CORSOrigins = []string{"https://*.example.com", "http://*.dev.example.org:8080"}
	})
	allowed := func(origin string) bool {
		w := e.doHeader("GET", "/health/live", "Origin", origin)
		return w.Header().Get("Access-Control-Allow-Origin") == origin
	}
	for _, o := range []string{"https://app.example.com", "https://pr-12.example.com", "https://x.example.com", "http://a1.dev.example.org:8080"} {
		if !allowed(o) {
			t.Errorf("%s: not allowed", o)
		}
		w := preflight(e, "/api/users", o, "POST")
		mustStatus(t, w, http.StatusNoContent)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != o {
			t.Errorf("%s: preflight Allow-Origin = %q", o, got)
		}
	}
	for _, o := range []string{
		"https://evil.example.com.attacker.net", "https://example.com.evil", "https://app.example.com.evil",
		"https://example.com", "https://.example.com", "https://a.b.example.com", "https://evilexample.com",
		"https://app.example.com:8443", "https://app.example.com:443", "http://app.example.com", "https://APP.example.com",
		"https://-app.example.com", "https://app.example.com/", "https://app.example.co", "https://app.example.comm",
		"https://app_x.example.com", "https://app%2eexample.com", "https://a.example.com@evil.net", "null", "*",
		"http://a1.dev.example.org", "http://a1.dev.example.org:80800", "http://a1.dev.example.org:8081",
	} {
		if allowed(o) {
			t.Errorf("%s: allowed", o)
		}
		if w := preflight(e, "/api/users", o, "POST"); w.Code == http.StatusNoContent || len(corsHeaders(w)) != 0 {
			t.Errorf("%s: preflight %d, CORS headers %v", o, w.Code, corsHeaders(w))
		}
	}
}

// FuzzCORSPattern sends any Origin to a server allowing
// https://*.example.com: an origin it allows is exactly https://, one
// label and .example.com.
func FuzzCORSPattern(f *testing.F) {
	for _, s := range []string{"https://app.example.com", "https://evil.example.com.attacker.net", "https://a.b.example.com", "https://example.com", "https://x.example.com:1"} {
		f.Add(s)
	}
	store := newFakeStore()
	h := httpapi.NewServer(httpapi.Config{Addr: "127.0.0.1:0", Users: store, Sessions: store, CORSOrigins: []string{"https://*.example.com"},
		Logger: slog.New(slog.DiscardHandler)}).Handler()
	f.Fuzz(func(t *testing.T, origin string) {
		req := httptest.NewRequest("GET", "/health/live", nil)
		req.Header["Origin"] = []string{origin}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Header().Get("Access-Control-Allow-Origin") == "" {
			return
		}
		label, ok := strings.CutSuffix(strings.TrimPrefix(origin, "https://"), ".example.com")
		if !ok || !strings.HasPrefix(origin, "https://") || label == "" || strings.ContainsAny(label, ".:/@*") || label != strings.ToLower(label) {
			t.Fatalf("allowed %q", origin)
		}
	})
}

// TestCORS_Loopback: CORSLoopback, the development switch, lets a page
// served from this machine over http on any port call the API (a
// frontend's dev server on :5173), and no other origin.
func TestCORS_Loopback(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.CORSLoopback = true })
	for _, origin := range []string{"http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8081", "http://localhost"} {
		w := preflight(e, "/api/users", origin, "POST")
		mustStatus(t, w, http.StatusNoContent)
		if w.Header().Get("Access-Control-Allow-Origin") != origin || !strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight from %s: headers %v", origin, w.Header())
		}
		req := httptest.NewRequest("GET", "/health/live", nil)
		req.Header.Set("Origin", origin)
		if w := e.serve(req); w.Header().Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("GET from %s: no Access-Control-Allow-Origin", origin)
		}
	}
	for _, origin := range []string{"https://localhost:5173", "http://localhost.evil.com", "http://localhost:5173.evil.com", "http://127.0.0.2:80", "http://localhost:", "http://evil.com:5173", "null"} {
		w := preflight(e, "/api/users", origin, "POST")
		mustError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := corsHeaders(w); len(got) != 0 {
			t.Fatalf("preflight from %s got %v", origin, got)
		}
	}
}
