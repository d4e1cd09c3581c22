package main

import (
	"net/url"
	"strings"
	"testing"
)

// TestConfig_LoopbackNeedsNoDNS: DB_SSLMODE defaults to disable only for a
// host reached without DNS (a literal loopback address or "localhost"
// exactly); "localhost." and every other name default to require, and a
// socket directory gets no sslmode at all.
func TestConfig_LoopbackNeedsNoDNS(t *testing.T) {
	for host, want := range map[string]string{
		"localhost":             "disable",
		"127.0.0.1":             "disable",
		"127.9.9.9":             "disable",
		"::1":                   "disable",
		"localhost.":            "require",
		"LOCALHOST":             "require",
		"localhost.localdomain": "require",
		"127.0.0.1.nip.io":      "require",
		"/var/run/postgresql":   "",
	} {
		cfg, err := LoadConfig([]string{"DB_HOST=" + host}, "")
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(cfg.URL())
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if got := u.Query().Get("sslmode"); got != want {
			t.Errorf("DB_HOST=%s: sslmode = %q, want %q", host, got, want)
		}
	}
}

func TestConfig_CORSOrigins(t *testing.T) {
	cfg, err := LoadConfig([]string{"KURA_CORS_ORIGINS= https://app.example.com ,http://localhost:5173,"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.CORSOriginList(); len(got) != 2 || got[0] != "https://app.example.com" || got[1] != "http://localhost:5173" {
		t.Errorf("origins = %q", got)
	}
	if _, err := LoadConfig([]string{"KURA_CORS_ORIGINS=https://*.example.com,http://localhost:5173"}, ""); err != nil {
		t.Errorf("a pattern: %v", err)
	}
	for _, o := range []string{"*", "https://app.*.com", "https://*.com", "https://*.github.io", "http://localhost:*"} {
		if _, err := LoadConfig([]string{"KURA_CORS_ORIGINS=https://app.example.com," + o}, ""); err == nil || !strings.Contains(err.Error(), "KURA_CORS_ORIGINS") || !strings.Contains(err.Error(), "https://*.example.com") {
			t.Errorf("%s: err = %v, want one naming KURA_CORS_ORIGINS and the pattern's form", o, err)
		}
	}
	if _, err := LoadConfig([]string{"KURA_CORS_ORIGINS=https://app.example.com/"}, ""); err == nil || !strings.Contains(err.Error(), "KURA_CORS_ORIGINS") {
		t.Errorf("a trailing slash: err = %v, want one naming KURA_CORS_ORIGINS", err)
	}
	if cfg, _ := LoadConfig(nil, ""); cfg.CORSOriginList() != nil {
		t.Errorf("default origins = %q, want none", cfg.CORSOriginList())
	}
}
