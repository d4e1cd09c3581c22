package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/metrics"
)

// metricsToken is the KURA_METRICS_TOKEN of these tests.
const metricsToken = "metrics-token-for-tests-0123456789"

// metricsURL returns the URL of s's metrics listener, from its log (info
// lines reach it within KURA_LOG_FLUSH_INTERVAL).
func metricsURL(t *testing.T, s *server) string {
	t.Helper()
	re := regexp.MustCompile(`msg="metrics listening" addr=(\S+) path=(\S+)`)
	var m []string
	testenv.Wait(t, 0, "the metrics listener in the log", func() bool {
		m = re.FindStringSubmatch(s.logs.String())
		return m != nil
	})
	return "http://" + m[1] + m[2]
}

// get GETs u with the bearer token (none if ""), returning status and body.
func get(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetrics_Protection checks who may read /metrics: without a token
// only the metrics listener answers, and the API has no /metrics; with a
// token both answer it, and nothing without it or with a wrong one. The
// token never reaches the logs.
func TestMetrics_Protection(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	t.Run("NoToken", func(t *testing.T) {
		s := startKura(t, "DATABASE_URL="+dbURL, "KURA_METRICS_ADDR=127.0.0.1:0")
		if code, body := get(t, metricsURL(t, s), ""); code != 200 || !strings.Contains(body, "kura_build_info{") {
			t.Fatalf("metrics listener: %d\n%s", code, body)
		}
		r := s.do(t, "GET", "/metrics", "", nil).want(t, http.StatusNotFound)
		if r.errorField("code") != "not_found" {
			t.Fatalf("the API's /metrics: %s", r.Raw)
		}
	})
	t.Run("Token", func(t *testing.T) {
		s := startKura(t, "DATABASE_URL="+dbURL, "KURA_METRICS_ADDR=127.0.0.1:0", "KURA_METRICS_TOKEN="+metricsToken)
		for _, u := range []string{s.URL + "/metrics", metricsURL(t, s)} {
			for _, token := range []string{"", "wrong-token-0123456789"} {
				code, body := get(t, u, token)
				var e struct {
					Error struct{ Code, Message string }
				}
				if code != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "unauthorized" {
					t.Fatalf("GET %s with token %q: %d %s, want 401 in kura's error shape", u, token, code, body)
				}
			}
			if code, body := get(t, u, metricsToken); code != 200 || !strings.Contains(body, "kura_http_requests_total{") {
				t.Fatalf("GET %s with the token: %d\n%s", u, code, body)
			}
		}
		if strings.Contains(s.logs.String(), metricsToken) {
			t.Fatalf("the token is in the logs:\n%s", s.logs.String())
		}
	})
	t.Run("Off", func(t *testing.T) {
		s := startKura(t, "DATABASE_URL="+dbURL) // startKura's default: KURA_METRICS_ADDR empty
		s.do(t, "GET", "/metrics", "", nil).want(t, http.StatusNotFound)
		// The listener would log before "kura serving" does.
		testenv.Wait(t, 0, "the serving line in the log", func() bool { return strings.Contains(s.logs.String(), "kura serving") })
		if strings.Contains(s.logs.String(), "metrics listening") {
			t.Fatal("a metrics listener opened with KURA_METRICS_ADDR empty")
		}
	})
}

// TestMetrics_DefaultAddressTaken: a second process on the host (a worker
// beside serve, or two instances) finds the default metrics address taken
// and serves without a metrics listener, saying so, instead of failing.
func TestMetrics_DefaultAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", metrics.DefaultAddr)
	if err != nil {
		t.Logf("the default address is taken already (%v): so much the better", err)
	} else {
		defer ln.Close()
	}
	s := startKura(t, "DATABASE_URL="+filepath.Join(t.TempDir(), "kura.db"), "KURA_METRICS_ADDR="+metrics.DefaultAddr)
	s.do(t, "GET", "/health/live", "", nil).want(t, http.StatusOK)
	if !strings.Contains(s.logs.String(), "metrics listener not started") {
		t.Fatalf("no warning about the taken address:\n%s", s.logs.String())
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for a program that cannot report the port it picked.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// prometheus is a real Prometheus server run for a test.
type prometheus struct{ url string }

// startPrometheus runs Debian's prometheus with a temporary configuration
// that scrapes each target (a URL of /metrics, with the bearer token)
// every second, storing in t.TempDir(), until the test ends.
func startPrometheus(t *testing.T, token string, targets map[string]string) *prometheus {
	t.Helper()
	bin := testenv.Tool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n")
	for job, target := range targets {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "  - job_name: %s\n    metrics_path: %s\n    authorization:\n      credentials: %s\n    static_configs:\n      - targets: ['%s']\n",
			job, u.Path, token, u.Host)
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", logs.String())
		}
	})
	p := &prometheus{url: "http://" + addr}
	testenv.Wait(t, 0, "prometheus to be ready", func() bool {
		res, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return p
}

// query returns the values of an instant query, one per series.
func (p *prometheus) query(t *testing.T, q string) []float64 {
	t.Helper()
	res, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, body.Error)
	}
	var vs []float64
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", q, r.Value)
		}
		vs = append(vs, v)
	}
	return vs
}

// waitQuery waits until the query has one series whose value ok accepts.
func (p *prometheus) waitQuery(t *testing.T, q string, ok func(float64) bool) {
	t.Helper()
	var last []float64
	testenv.Wait(t, 0, "prometheus to answer "+q, func() bool {
		last = p.query(t, q)
		return len(last) == 1 && ok(last[0])
	})
}

func equal(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

// TestPrometheus_ScrapesKura runs a real Prometheus against a real kura
// serve, scraping both the metrics listener and the API's /metrics with
// the token, puts known traffic through kura, and reads back through
// Prometheus's query API a pool gauge, a cache hit counter, a job counter
// and a request histogram's count.
func TestPrometheus_ScrapesKura(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	s := startKura(t, "DATABASE_URL="+dbURL, "KURA_METRICS_ADDR=127.0.0.1:0", "KURA_METRICS_TOKEN="+metricsToken,
		"KURA_JOB_POLL_INTERVAL=100ms")
	p := startPrometheus(t, metricsToken, map[string]string{
		"kura":     metricsURL(t, s),
		"kura-api": s.URL + "/metrics",
	})
	p.waitQuery(t, `up{job="kura"}`, equal(1))
	p.waitQuery(t, `up{job="kura-api"}`, equal(1))

	// Known traffic: one registration (its welcome job), then 3 reads of
	// the user: a cache miss, then 2 hits.
	id := s.do(t, "POST", "/api/users", "", map[string]string{
		"email": "ann@example.com", "username": "ann", "password": "a long passphrase"}).want(t, http.StatusCreated).id()
	for range 3 {
		s.do(t, "GET", fmt.Sprintf("/api/users/%d", id), "", nil).want(t, http.StatusOK)
	}

	p.waitQuery(t, `kura_db_pool_max_open_connections{job="kura",pool="writer"}`, equal(1))
	p.waitQuery(t, `kura_cache_hits_total{job="kura",cache="user",tier="local"}`, func(v float64) bool { return v >= 2 })
	p.waitQuery(t, `kura_jobs_completed_total{job="kura",kind="notify.deliver"}`, equal(1))
	p.waitQuery(t, `kura_http_request_duration_seconds_count{job="kura",route="GET /api/users/{id}",method="GET"}`, equal(3))
	p.waitQuery(t, `kura_http_requests_total{job="kura",route="POST /api/users",method="POST",status="201"}`, equal(1))
	p.waitQuery(t, `kura_build_info{job="kura-api",engine="sqlite"}`, equal(1))
}

// TestConfig_Metrics checks the metrics variables' defaults and errors: a
// token too short is refused without being shown.
func TestConfig_Metrics(t *testing.T) {
	cfg, err := loadConfig(configSource{})
	if err != nil || cfg.MetricsAddr != "127.0.0.1:9464" || cfg.MetricsToken != "" {
		t.Fatalf("defaults: %q %q %v", cfg.MetricsAddr, cfg.MetricsToken, err)
	}
	for _, c := range []struct{ env, want string }{
		{"KURA_METRICS_ADDR=9464", `KURA_METRICS_ADDR: "9464" is not host:port`},
		{"KURA_METRICS_TOKEN=short-secret", "KURA_METRICS_TOKEN: too short: want 16 characters or more"},
	} {
		_, err := loadConfig(configSource{environ: []string{c.env}})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.env, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "short-secret") {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	cfg, err = loadConfig(configSource{environ: []string{"KURA_METRICS_ADDR=", "KURA_METRICS_TOKEN=" + metricsToken}})
	if err != nil || cfg.MetricsAddr != "" || cfg.MetricsToken != metricsToken {
		t.Fatalf("the listener off, a token: %q %v", cfg.MetricsAddr, err)
	}
}
