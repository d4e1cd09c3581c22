package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/openapitest"
	"github.com/kura-dev/kura/internal/testenv"
)

// TestServe_Drain: on SIGTERM serve answers /health/ready 503 "draining"
// for KURA_DRAIN_DELAY while it still serves every request, registrations
// too, with Connection: close; a second signal cuts the delay short, and
// serve then stops cleanly.
func TestServe_Drain(t *testing.T) {
	logs := &syncBuffer{}
	signals := make(chan os.Signal, 2)
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, signals: signals,
		Environ: []string{noMetricsListener, noBackups, "KURA_WORKERS=0", "KURA_DRAIN_DELAY=3600",
			"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")}}
	u, stop, err := launchServe(m)
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, logs)
	}
	s := &server{URL: u, logs: logs, client: openapitest.Client(t)}
	s.do(t, "GET", "/health/ready", "", nil).want(t, http.StatusOK)

	stopped := make(chan error, 1)
	signals <- syscall.SIGTERM // as the process's first signal reaches both
	go func() { stopped <- stop() }()
	testenv.Wait(t, 10*time.Second, "/health/ready to say draining", func() bool {
		r := s.do(t, "GET", "/health/ready", "", nil)
		return r.Status == http.StatusServiceUnavailable && r.Body["status"] == "draining"
	})
	res, err := http.Post(u+"/api/users", "application/json",
		strings.NewReader(`{"email":"ann@example.com","username":"ann","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || !res.Close {
		t.Errorf("a registration while draining: status %d, Connection: close %v; want 201 and true", res.StatusCode, res.Close)
	}
	s.do(t, "GET", "/health", "", nil).want(t, http.StatusServiceUnavailable)
	select {
	case err := <-stopped:
		t.Fatalf("serve stopped before the drain delay was over: %v", err)
	default:
	}

	signals <- syscall.SIGTERM // a second signal: stop now
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute of the second signal")
	}
	for _, want := range []string{`msg="draining: /health/ready answers 503`, `msg=stopped`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %s in the logs:\n%s", want, logs)
		}
	}
}
