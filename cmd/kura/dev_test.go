package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServe_Dev: with KURA_DEV=true a frontend on http://localhost:5173
// gets its preflight answered and may read the answers, and a developer
// testing a sign-up form is not stopped by the registration limit (20 an
// hour per address by default); the log and the banner say so.
func TestServe_Dev(t *testing.T) {
	s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "kura.db"), "KURA_DEV=true")
	req, _ := http.NewRequest("OPTIONS", s.URL+"/api/users", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
	for i := range 25 {
		s.do(t, "POST", "/api/users", "", map[string]string{"email": fmt.Sprintf("dev%d@example.com", i), "username": fmt.Sprintf("dev%d", i), "password": "correct horse battery"}).want(t, http.StatusCreated)
	}
	if !strings.Contains(s.logs.String(), "development mode") || !strings.Contains(s.logs.String(), "mail is printed to the log") {
		t.Errorf("serve does not warn of development mode and its printed mail:\n%s", s.logs.String())
	}
}

// TestServe_NotDev: without KURA_DEV the same frontend is refused (no
// CORS header; the preflight is a 405) and the registration limit holds.
func TestServe_NotDev(t *testing.T) {
	s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "kura.db"), "KURA_REGISTER_RATE=2/1h")
	req, _ := http.NewRequest("OPTIONS", s.URL+"/api/users", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight without KURA_DEV: %d %v", res.StatusCode, res.Header)
	}
	for i := range 2 {
		s.do(t, "POST", "/api/users", "", map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "username": fmt.Sprintf("user%d", i), "password": "correct horse battery"}).want(t, http.StatusCreated)
	}
	s.do(t, "POST", "/api/users", "", map[string]string{"email": "u9@example.com", "username": "user9", "password": "correct horse battery"}).want(t, http.StatusTooManyRequests)
}

// TestConfig_DevOffLoopback: development mode is refused on an address
// other machines reach, naming the variables.
func TestConfig_DevOffLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.0.2.7:8080"} {
		_, _, err := runKura(t, []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db"), "KURA_DEV=true", "KURA_ADDR=" + addr}, "", "serve")
		if err == nil || !strings.Contains(err.Error(), "KURA_DEV") || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("KURA_DEV=true with KURA_ADDR=%s: %v", addr, err)
		}
	}
}

// TestKuraCommand: the banner's hint runs kura the way it was started.
func TestKuraCommand(t *testing.T) {
	for exe, want := range map[string]string{
		"/tmp/go-build1234/b001/exe/kura":            "go run ./cmd/kura",
		"/home/ann/.cache/tmp/go-build99/b001/exe/k": "go run ./cmd/kura",
		"/usr/local/bin/kura":                        "kura",
		"/home/ann/go/bin/kura":                      "kura",
		"/tmp/go-build1234/b001/kura.test":           "kura",
	} {
		if got := commandFor(exe); got != want {
			t.Errorf("commandFor(%q) = %q, want %q", exe, got, want)
		}
	}
}
