package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/openapitest"
	"github.com/kura-dev/kura/internal/testenv"
)

// syncBuffer captures logs written from several goroutines.
type syncBuffer = testenv.LogBuffer

// engine is a database kura can be pointed at in a test.
type engine struct {
	name string
	url  func(t *testing.T) string
}

var engines = []engine{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "kura.db") }},
	{"postgres", func(t *testing.T) string { return testenv.PostgresDatabase(t) }},
	{"mysql", func(t *testing.T) string { return testenv.MySQLDatabase(t) }},
}

func forEachEngine(t *testing.T, fn func(t *testing.T, dbURL string)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.url(t))
		})
	}
}

// runKura runs one kura command to completion with the given environment
// and standard input, and returns its standard output, its logs and its error.
func runKura(t *testing.T, env []string, stdin string, args ...string) (stdout, logs string, err error) {
	t.Helper()
	var out, log syncBuffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &log, Environ: env}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = m.Run(ctx, withoutEnvFile(args))
	return out.String(), log.String(), err
}

// withoutEnvFile adds --env-file= (no .env file) to a command line after
// the command's words: "users create --env-file= --email ...".
func withoutEnvFile(args []string) []string {
	n := 1
	switch args[0] {
	case "version", "help":
		return args
	case "users", "jobs", "migrate", "backup":
		if len(args) > 1 {
			n = 2
		}
	}
	return append(args[:n:n], append([]string{"--env-file="}, args[n:]...)...)
}

// noMetricsListener turns the metrics listener off, noBackups the scheduled
// backups and noDrainDelay serve's wait for a balancer on SIGTERM, ahead of
// a test's own variables, which may set them.
const (
	noDrainDelay      = "KURA_DRAIN_DELAY=0" // no load balancer to wait for
	noMetricsListener = "KURA_METRICS_ADDR="
	noBackups         = "KURA_BACKUP_INTERVAL=0"
)

// server is a running `kura serve`.
type server struct {
	URL  string
	logs *syncBuffer
	// client checks every response do receives against the description
	// the server answers at /openapi.json.
	client *http.Client
}

// startKura runs `kura serve` on 127.0.0.1:0 until the test ends, when it is
// shut down as by SIGTERM and must stop cleanly. It has no metrics
// listener unless env sets KURA_METRICS_ADDR: tests run many servers at
// once, and the default address is one.
func startKura(t *testing.T, env ...string) *server {
	t.Helper()
	logs := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Environ: append([]string{noMetricsListener, noBackups}, env...)}
	u, err := serveUntilEnd(t, m)
	if err != nil {
		t.Fatalf("serve failed to start: %v\n%s", err, logs.String())
	}
	return &server{URL: u, logs: logs, client: openapitest.Client(t)}
}

// response is a decoded API answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// do sends a JSON request with an optional bearer token.
func (s *server) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
		}
	}
	return r
}

// want fails the test unless the response has the status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Raw)
	}
	return r
}

// errorField returns error.<key> of an error response.
func (r response) errorField(key string) any {
	e, _ := r.Body["error"].(map[string]any)
	return e[key]
}

// fieldMessage returns error.fields.<field> of an error response.
func (r response) fieldMessage(field string) string {
	f, _ := r.errorField("fields").(map[string]any)
	s, _ := f[field].(string)
	return s
}

func (r response) id() int64 {
	f, _ := r.Body["id"].(float64)
	return int64(f)
}

func isUsage(err error) bool { return errors.As(err, new(usageError)) }
