package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

func check(name string, err error, optional bool) httpapi.HealthCheck {
	return httpapi.HealthCheck{Name: name, Optional: optional, Check: func(context.Context) error { return err }}
}

func TestHealth(t *testing.T) {
	secret := errors.New("dial postgres://kura:hunter2@db: refused")
	for _, tt := range []struct {
		name   string
		checks []httpapi.HealthCheck
		status int
		body   string
	}{
		{"NoChecks", nil, 200, `{"status":"healthy"}`},
		{"Healthy", []httpapi.HealthCheck{check("database", nil, false), check("cache", nil, true)},
			200, `{"cache":"connected","database":"connected","status":"healthy"}`},
		{"Unhealthy", []httpapi.HealthCheck{check("database", secret, false), check("cache", nil, true)},
			503, `{"cache":"connected","database":"unreachable","status":"unhealthy"}`},
		{"Degraded", []httpapi.HealthCheck{check("database", nil, false), check("cache", secret, true)},
			200, `{"cache":"degraded","database":"connected","status":"healthy"}`},
		{"Busy", []httpapi.HealthCheck{check("database", fmt.Errorf("ping: %w", kura.ErrBusy), false), check("cache", nil, true)},
			503, `{"cache":"connected","database":"busy","status":"unhealthy"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) { c.Checks = tt.checks })
			w := e.do("GET", "/health", nil, "")
			mustStatus(t, w, tt.status)
			if retry := w.Header().Get("Retry-After"); (tt.status == 503) != (retry != "") {
				t.Errorf("Retry-After = %q with status %d", retry, tt.status)
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.body {
				t.Errorf("body = %s, want %s", got, tt.body)
			}
			logs := e.logs.String()
			if failed := tt.status == 503 || tt.name == "Degraded"; failed != strings.Contains(logs, `"level":"WARN","msg":"health check failed"`) {
				t.Errorf("warn log = %v, want %v:\n%s", !failed, failed, logs)
			}
		})
	}
	t.Run("Notes", func(t *testing.T) {
		note := httpapi.HealthNote{Name: "backup", Note: func(context.Context) string { return "overdue" }}
		for _, tt := range []struct {
			check  httpapi.HealthCheck
			status int
			body   string
		}{
			{check("database", nil, false), 200, `{"backup":"overdue","database":"connected","status":"healthy"}`},
			{check("database", secret, false), 503, `{"backup":"overdue","database":"unreachable","status":"unhealthy"}`},
		} {
			e := newEnv(t, func(c *httpapi.Config) {
				c.Checks = []httpapi.HealthCheck{tt.check}
				c.Notes = []httpapi.HealthNote{note}
			})
			w := e.do("GET", "/health", nil, "")
			mustStatus(t, w, tt.status)
			if got := strings.TrimSpace(w.Body.String()); got != tt.body {
				t.Errorf("body = %s, want %s", got, tt.body)
			}
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		stuck := httpapi.HealthCheck{Name: "database", Check: func(ctx context.Context) error {
			<-release // ignores its context: /health must answer anyway
			return nil
		}}
		e := newEnv(t, func(c *httpapi.Config) { c.Checks = []httpapi.HealthCheck{stuck}; c.HealthTimeout = 1 })
		w := e.do("GET", "/health", nil, "")
		mustStatus(t, w, http.StatusServiceUnavailable)
		if !strings.Contains(w.Body.String(), `"database":"unreachable"`) {
			t.Errorf("body = %s", w.Body)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		// Each check waits for the other: only a concurrent run finishes.
		a, b := make(chan struct{}), make(chan struct{})
		meet := func(mine, theirs chan struct{}) func(context.Context) error {
			return func(ctx context.Context) error {
				close(mine)
				select {
				case <-theirs:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		e := newEnv(t, func(c *httpapi.Config) {
			c.Checks = []httpapi.HealthCheck{{Name: "a", Check: meet(a, b)}, {Name: "b", Check: meet(b, a)}}
		})
		mustStatus(t, e.do("GET", "/health", nil, ""), http.StatusOK)
	})
}

func TestLive(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.Checks = []httpapi.HealthCheck{check("database", errors.New("down"), false)}
	})
	w := e.do("GET", "/health/live", nil, "")
	mustStatus(t, w, http.StatusOK)
	if got := strings.TrimSpace(w.Body.String()); got != `{"status":"alive"}` {
		t.Errorf("body = %s", got)
	}
}
