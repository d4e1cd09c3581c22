package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/kura-dev/kura"
)

// HealthCheck is one dependency that GET /health checks.
type HealthCheck struct {
	// Name is the check's key in the /health body, such as "database".
	// It must be unique and not "status".
	Name string
	// Check reports whether the dependency is usable, such as a pool's
	// Ping. It gets a context bounded by Config.HealthTimeout.
	Check func(ctx context.Context) error
	// Optional marks a dependency the service can run without, such as a
	// cache: when it fails, /health reports it "degraded" and stays healthy.
	Optional bool
}

// HealthNote is a state /health reports beside its checks without ever
// changing the answer's status, such as whether backups are on time: an
// overdue backup is for an operator to see, not a reason for a load
// balancer to take the instance out.
type HealthNote struct {
	// Name is the note's key in the /health body, unique among the checks
	// and notes and not "status".
	Name string
	// Note returns a word for the body, such as "ok" or "overdue". It gets
	// a context bounded by Config.HealthTimeout and must be cheap: /health
	// is polled often.
	Note func(ctx context.Context) string
}

// PingCheck returns a required HealthCheck named name that pings p.
func PingCheck(name string, p kura.Pinger) HealthCheck {
	return HealthCheck{Name: name, Check: p.Ping}
}

// Health states, the only words /health ever reports.
const (
	healthHealthy     = "healthy"
	healthUnhealthy   = "unhealthy"
	healthAlive       = "alive"
	healthConnected   = "connected"
	healthUnreachable = "unreachable"
	healthBusy        = "busy"
	healthDegraded    = "degraded"
)

// handleHealth serves GET /health: every check runs concurrently, each
// within HealthTimeout. The body maps each check to a state word, never to
// an error text; errors are logged at warn instead. A required check that
// fails with kura.ErrBusy (a pool with every connection taken and calls
// waiting) is "busy" rather than "unreachable": the dependency answers, but
// a request now would queue and may end in a 503. Either makes the answer
// 503 with Retry-After, and the word tells an operator which of the two it
// is. A draining server answers 503 {"status":"draining"}. This is the
// operator's view: a load balancer reads GET /health/ready instead, which
// a busy pool does not fail (see handleReady).
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	body, httpStatus := s.health(r)
	w.Header().Set("Cache-Control", "no-store")
	if httpStatus == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	s.writeJSON(w, r, httpStatus, body)
}

// Health returns what GET /health answers, without answering: each
// check's and note's state word by name, and "status". The admin console
// shows it.
func (s *Server) Health(r *http.Request) map[string]string {
	body, _ := s.health(r)
	return body
}

// health runs the checks and notes and returns /health's body and status.
func (s *Server) health(r *http.Request) (map[string]string, int) {
	body := make(map[string]string, len(s.cfg.Checks)+len(s.cfg.Notes)+1)
	status, httpStatus := healthHealthy, http.StatusOK
	for _, res := range s.runChecks(r, true) {
		switch {
		case res.err == nil:
			body[res.name] = healthConnected
		case res.optional:
			body[res.name] = healthDegraded
		case errors.Is(res.err, kura.ErrBusy):
			body[res.name] = healthBusy
			status, httpStatus = healthUnhealthy, http.StatusServiceUnavailable
		default:
			body[res.name] = healthUnreachable
			status, httpStatus = healthUnhealthy, http.StatusServiceUnavailable
		}
	}
	for _, n := range s.cfg.Notes {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
		body[n.Name] = n.Note(ctx)
		cancel()
	}
	if s.drain.on.Load() { // shutting down: every check may still pass
		status, httpStatus = readyDraining, http.StatusServiceUnavailable
	}
	body["status"] = status
	return body, httpStatus
}

// checkResult is the outcome of one health check.
type checkResult struct {
	name     string
	optional bool
	err      error
}

// runChecks runs the health checks (the optional ones too, if optional is
// set) concurrently, each within HealthTimeout, logs each failure at warn
// and returns their results in no particular order.
func (s *Server) runChecks(r *http.Request, optional bool) []checkResult {
	var checks []HealthCheck
	for _, hc := range s.cfg.Checks {
		if optional || !hc.Optional {
			checks = append(checks, hc)
		}
	}
	results := make(chan checkResult, len(checks))
	for _, hc := range checks {
		go func() {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- hc.Check(ctx) }()
			res := checkResult{name: hc.Name, optional: hc.Optional}
			select { // a check that ignores its context must not hang /health
			case res.err = <-done:
			case <-ctx.Done():
				res.err = ctx.Err()
			}
			results <- res
		}()
	}
	out := make([]checkResult, 0, len(checks))
	for range checks {
		res := <-results
		if res.err != nil {
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "health check failed",
				slog.String("check", res.name), slog.Bool("optional", res.optional),
				slog.String("request_id", RequestID(r.Context())), slog.Any("err", res.err))
		}
		out = append(out, res)
	}
	return out
}

// handleLive serves GET /health/live: 200 for as long as the process serves.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": healthAlive})
}
