package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/metrics"
)

// TestMetrics_Scrape puts kura's packages through known traffic on a real
// SQLite database and reads each family back from a scrape.
func TestMetrics_Scrape(t *testing.T) {
	s := newStack(t)
	s.traffic(t)
	body, ctype := scrape(t, s.m.Handler(), "")
	if !strings.HasPrefix(ctype, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text format", ctype)
	}
	f := families(t, body)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"kura_build_info", []string{"version=" + kura.Version, "engine=sqlite", "goversion=" + runtime.Version()}, 1},
		{"kura_db_pool_max_open_connections", []string{"pool=writer"}, 1},
		{"kura_db_pool_acquire_timeouts_total", []string{"pool=reader"}, 0},
		{"kura_db_pool_closed_total", []string{"pool=writer", "reason=max_lifetime"}, 0},
		{"kura_cache_hits_total", []string{"cache=user", "tier=local"}, 2},
		{"kura_cache_misses_total", []string{"cache=user", "tier=local"}, 1},
		{"kura_cache_loads_total", []string{"cache=user"}, 1},
		{"kura_cache_redis_degraded", []string{"cache=user"}, 0},
		{"kura_jobs_completed_total", []string{"kind=test.ok"}, 1},
		{"kura_jobs_failed_total", []string{"kind=test.ok"}, 0},
		{"kura_jobs_failed_total", []string{"kind=test.bad"}, 1},
		{"kura_jobs_discarded_total", []string{"kind=test.bad"}, 1},
		{"kura_jobs_panicked_total", []string{"kind=test.bad"}, 0},
		{"kura_jobs_attempt_duration_seconds", []string{"kind=test.ok"}, 1},
		{"kura_jobs", []string{"state=discarded"}, 1},
		{"kura_jobs", []string{"state=available"}, 0},
		{"kura_jobs_oldest_available_age_seconds", nil, 0},
		{"kura_http_requests_total", []string{"route=GET /health", "method=GET", "status=200"}, 3},
		{"kura_http_requests_total", []string{"route=unmatched", "method=GET", "status=404"}, 1},
		{"kura_http_requests_total", []string{"route=unmatched", "method=other"}, 1},
		{"kura_http_request_duration_seconds", []string{"route=GET /health", "method=GET"}, 3},
		{"kura_http_response_size_bytes", []string{"route=GET /health", "method=GET"}, 3},
		{"kura_http_requests_in_flight", nil, 0},
		{"kura_read_only", nil, 0},
		{"kura_backup_last_size_bytes", nil, 1234},
		{"kura_backup_last_duration_seconds", nil, 2.5},
		{"kura_backup_last_run_success", nil, 1},
	} {
		if got := value(t, f, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	ts := value(t, f, "kura_backup_last_success_timestamp_seconds")
	if age := float64(time.Now().Unix()) - ts; age < 59 || age > 600 {
		t.Errorf("kura_backup_last_success_timestamp_seconds = %v: %vs ago, want about a minute", ts, age)
	}
	if vt := value(t, f, "kura_backup_last_verified_timestamp_seconds"); vt != ts {
		t.Errorf("kura_backup_last_verified_timestamp_seconds = %v, want %v", vt, ts)
	}
	if got := value(t, f, "kura_jobs", "state=completed"); got < 1 {
		t.Errorf("completed jobs = %v, want 1 or more", got)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "promhttp_metric_handler_requests_total"} {
		if _, ok := f[name]; !ok {
			t.Errorf("no %s: the runtime, process and handler collectors are registered", name)
		}
	}
}

// TestMetrics_ReadOnly: kura_read_only follows the server's read-only
// mode.
func TestMetrics_ReadOnly(t *testing.T) {
	s := newStack(t)
	for _, on := range []bool{true, false} {
		if err := s.srv.SetReadOnly(context.Background(), on); err != nil {
			t.Fatal(err)
		}
		body, _ := scrape(t, s.m.Handler(), "")
		want := 0.0
		if on {
			want = 1
		}
		if got := value(t, families(t, body), "kura_read_only"); got != want {
			t.Errorf("kura_read_only with read-only %v = %v", on, got)
		}
	}
}

// TestMetrics_OpenMetrics checks that a scraper asking for OpenMetrics
// gets it.
func TestMetrics_OpenMetrics(t *testing.T) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	body, ctype := scrape(t, m.Handler(), "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	if !strings.HasPrefix(ctype, "application/openmetrics-text") || !strings.HasSuffix(body, "# EOF\n") {
		t.Fatalf("Content-Type %q, body ending %q; want OpenMetrics", ctype, body[max(0, len(body)-20):])
	}
}

// TestPromtool_CheckMetrics runs promtool's linter on a real scrape after
// traffic, as an operator's CI would.
func TestPromtool_CheckMetrics(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", "prometheus")
	s := newStack(t)
	s.traffic(t)
	body, _ := scrape(t, s.m.Handler(), "")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "" {
		t.Fatalf("promtool check metrics found problems:\n%s", out)
	}
}

// TestMetrics_RegistryGiven checks that New registers on a registry it is
// given, and refuses one that holds its collectors already.
func TestMetrics_RegistryGiven(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Config{Registry: reg})
	if err != nil || m.Registry() != reg {
		t.Fatalf("New: %v, registry %p want %p", err, m.Registry(), reg)
	}
	if _, err := metrics.New(metrics.Config{Registry: reg}); err == nil {
		t.Fatal("New on a registry that has kura's collectors: want an error")
	}
	if _, err := metrics.New(metrics.Config{ScrapeTimeout: -time.Second}); err == nil {
		t.Fatal("a negative ScrapeTimeout: want an error")
	}
}

// failingQueue is a job queue whose database is down.
type failingQueue struct{}

func (failingQueue) Counts(context.Context) (jobs.Counts, error) {
	return nil, errors.New("database down")
}

func (failingQueue) OldestAvailable(context.Context) (time.Time, error) {
	return time.Time{}, errors.New("database down")
}

// TestMetrics_QueueDown checks that a scrape whose queue queries fail
// still answers with the rest, and logs the failure.
func TestMetrics_QueueDown(t *testing.T) {
	logs := &testenv.LogBuffer{}
	m, err := metrics.New(metrics.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m.AddJobs(failingQueue{})
	body, _ := scrape(t, m.Handler(), "")
	f := families(t, body)
	if _, ok := f["kura_jobs"]; ok {
		t.Error("kura_jobs exported although its query failed")
	}
	if _, ok := f["kura_build_info"]; !ok {
		t.Error("the rest of the scrape is missing")
	}
	if !strings.Contains(logs.String(), "database down") {
		t.Errorf("the failure is not logged:\n%s", logs.String())
	}
}

// TestRequireToken checks the bearer token: none or a wrong one is a 401 in
// kura's error shape, the same shape httpapi answers; the right one
// passes; an empty token protects nothing.
func TestRequireToken(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics")) })
	h := metrics.RequireToken("s3cret-token-0123456789", ok)
	do := func(h http.Handler, auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	// httpapi's own 401 (no token on a route that needs one) is the shape
	// to match; it touches no service.
	api := httpapi.NewServer(httpapi.Config{Users: (*accounts.UserService)(nil), Sessions: (*accounts.SessionService)(nil),
		Logger: slog.New(slog.DiscardHandler)})
	ref := httptest.NewRecorder()
	api.Handler().ServeHTTP(ref, httptest.NewRequest("GET", "/api/users/me", nil))
	if ref.Code != http.StatusUnauthorized {
		t.Fatalf("httpapi without a token: %d", ref.Code)
	}
	shape := func(w *httptest.ResponseRecorder) string {
		var body map[string]map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("body %s: %v", w.Body, err)
		}
		var keys []string
		for k, inner := range body {
			for ik := range inner {
				keys = append(keys, k+"."+ik)
			}
		}
		sort.Strings(keys)
		return w.Header().Get("Content-Type") + " " + strings.Join(keys, ",")
	}
	for _, auth := range []string{"", "Bearer wrong", "Basic czNjcmV0", "Bearer s3cret-token-012345678", "bearer s3cret-token-0123456789"} {
		w := do(h, auth)
		if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Fatalf("Authorization %q: %d %v, want 401 with WWW-Authenticate", auth, w.Code, w.Header())
		}
		if got, want := shape(w), shape(ref); got != want {
			t.Fatalf("Authorization %q: shape %q, want httpapi's %q", auth, got, want)
		}
		if !strings.Contains(w.Body.String(), `"code":"`+kura.EUNAUTHORIZED+`"`) {
			t.Fatalf("Authorization %q: body %s, want code %s", auth, w.Body, kura.EUNAUTHORIZED)
		}
		if strings.Contains(w.Body.String(), "s3cret") {
			t.Fatal("the 401 shows the token")
		}
	}
	if w := do(h, "Bearer s3cret-token-0123456789"); w.Code != http.StatusOK || w.Body.String() != "metrics" {
		t.Fatalf("the right token: %d %s", w.Code, w.Body)
	}
	if w := do(metrics.RequireToken("", ok), ""); w.Code != http.StatusOK {
		t.Fatalf("no token configured: %d", w.Code)
	}
}

// TestListen serves the handler on a listener of its own: /metrics
// answers, other paths are 404, Close stops it and may be called twice.
func TestListen(t *testing.T) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := metrics.Listen("127.0.0.1:0", m.Handler(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res.Body); res.StatusCode != 200 || !strings.Contains(body, "kura_build_info") {
		t.Fatalf("GET %s: %d\n%s", s.URL(), res.StatusCode, body)
	}
	res, err = http.Get(strings.TrimSuffix(s.URL(), metrics.Path) + "/health")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res.Body)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /health on the metrics listener: %d, want 404", res.StatusCode)
	}
	ctx := context.Background()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Fatal("the listener still answers after Close")
	}
	var none *metrics.Server
	if err := none.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
