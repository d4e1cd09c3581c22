package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/httpapi"
)

func TestHealth(t *testing.T) {
	const secret = "postgres://app:hunter2@db/app"
	ok := func(context.Context) error { return nil }
	fail := func(context.Context) error { return errors.New("dial " + secret + ": connection refused") }
	hang := func(ctx context.Context) error { select {} } // ignores its context

	tests := []struct {
		name   string
		checks []httpapi.HealthCheck
		status int
		want   map[string]string
	}{
		{"Healthy", []httpapi.HealthCheck{{Name: "database", Check: ok}}, http.StatusOK,
			map[string]string{"status": "healthy", "database": "connected"}},
		{"DatabaseDown", []httpapi.HealthCheck{{Name: "database", Check: fail}}, http.StatusServiceUnavailable,
			map[string]string{"status": "unhealthy", "database": "unreachable"}},
		{"OptionalDegraded", []httpapi.HealthCheck{{Name: "database", Check: ok}, {Name: "cache", Check: fail, Optional: true}}, http.StatusOK,
			map[string]string{"status": "healthy", "database": "connected", "cache": "degraded"}},
		{"HungCheckTimesOut", []httpapi.HealthCheck{{Name: "database", Check: hang}}, http.StatusServiceUnavailable,
			map[string]string{"status": "unhealthy", "database": "unreachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) { c.Checks = tt.checks; c.HealthTimeout = 20 * time.Millisecond })
			w := e.do("GET", "/health", nil, "")
			mustStatus(t, w, tt.status)
			var got map[string]string
			mustDecode(t, w, &got)
			if len(got) != len(tt.want) {
				t.Fatalf("body = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("body = %v, want %v", got, tt.want)
				}
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Fatal("a secret reached the health body")
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("health must not be cached")
			}
		})
	}
}

func TestLive(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.Checks = []httpapi.HealthCheck{{Name: "database", Check: func(context.Context) error { return errors.New("down") }}}
	})
	w := e.do("GET", "/health/live", nil, "")
	mustStatus(t, w, http.StatusOK)
	var got map[string]string
	mustDecode(t, w, &got)
	if got["status"] != "alive" {
		t.Fatalf("live = %v", got)
	}
}
