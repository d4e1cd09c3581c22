package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServe_OpenAPI: kura serve answers its description at /openapi.json,
// GET / links to it, and with KURA_METRICS_TOKEN it describes /metrics
// too, whose answers hold to it (s.client checks every response).
func TestServe_OpenAPI(t *testing.T) {
	s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "kura.db"), "KURA_METRICS_TOKEN="+metricsToken)
	doc := s.do(t, "GET", "/openapi.json", "", nil).want(t, http.StatusOK)
	paths, _ := doc.Body["paths"].(map[string]any)
	for _, p := range []string{"/api/users", "/api/users/{id}/notifications", "/api/stats", "/health/ready", "/openapi.json", "/", "/metrics"} {
		if paths[p] == nil {
			t.Errorf("the description lacks %s", p)
		}
	}
	idx := s.do(t, "GET", "/", "", nil).want(t, http.StatusOK)
	if links, _ := idx.Body["links"].(map[string]any); links["openapi"] != "/openapi.json" {
		t.Errorf("GET / does not link to the description: %s", idx.Raw)
	}
	for _, token := range []string{"", metricsToken} {
		req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := map[bool]int{false: 401, true: 200}[token != ""]; res.StatusCode != want || token != "" && !strings.Contains(string(body), "kura_build_info") {
			t.Errorf("GET /metrics: %d, want %d", res.StatusCode, want)
		}
	}
}
