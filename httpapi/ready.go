package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/kura-dev/kura"
)

// Readiness states, the words GET /health/ready reports.
const (
	readyReady       = "ready"
	readyDraining    = "draining"
	readyUnavailable = "unavailable"
)

// drain is the state of a server that has begun to shut down: its start,
// and the requests that arrived since, the last one's time with them.
type drain struct {
	on       atomic.Bool
	requests atomic.Int64
	last     atomic.Int64 // unix nanoseconds of the last request while draining
}

// Draining reports whether Drain has been called.
func (s *Server) Draining() bool { return s.drain.on.Load() }

// Drain is the first step of a graceful shutdown behind a load balancer.
// It marks the server draining: GET /health/ready and GET /health answer
// 503 {"status":"draining"}, so that the balancer's health check takes
// the instance out, while every other request is still served, with
// Connection: close, so that each keep-alive connection closes after its
// next answer instead of being cut while idle (where a balancer may be
// sending a request on it at that very moment). Idle connections are left
// open until Close. Drain then waits delay, or until ctx ends, for the
// balancer to notice, and returns; Close follows. A balancer that still
// sends requests at the end of the delay is logged at warn, once: its check
// does not read /health/ready, or checks less often than the delay allows.
func (s *Server) Drain(ctx context.Context, delay time.Duration) {
	if s.drain.on.Load() {
		return
	}
	s.drain.on.Store(true)
	s.logger.Info("draining: /health/ready answers 503 while requests are still served", slog.String("delay", delay.String()))
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	n := s.drain.requests.Load()
	last := time.Unix(0, s.drain.last.Load())
	if lateBy := time.Since(last); n > 0 && delay > 0 && lateBy < min(time.Second, delay/2) {
		s.logger.Warn("the load balancer still sends requests to this draining instance: "+
			"its health check should read /health/ready, every interval such that interval × fall is below the drain delay; "+
			"new connections are refused from now on",
			slog.Int64("requests_while_draining", n), slog.String("last_request_ago", lateBy.Round(time.Millisecond).String()))
		return
	}
	s.logger.Info("drain delay over", slog.Int64("requests_while_draining", n))
}

// drainAware serves a request of a draining server with Connection: close
// and counts it; other requests pass untouched.
func (s *Server) drainAware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.drain.on.Load() {
			w.Header().Set("Connection", "close")
			if r.URL.Path != "/health/ready" && r.URL.Path != "/health" {
				s.drain.requests.Add(1)
				s.drain.last.Store(time.Now().UnixNano())
			}
		}
		next.ServeHTTP(w, r)
	})
}

// handleReady serves GET /health/ready, the check a load balancer reads:
// 503 only when this instance cannot serve, because it is draining
// (status "draining") or a required dependency does not answer (status
// "unavailable", naming it "unreachable"). A busy pool is not a reason: it
// still serves, slowly, and every instance shares it, so that answering
// 503 for it would take all of them out at once. Optional checks (the
// cache) are not run. GET /health is the operator's fuller view.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.drain.on.Load() {
		w.Header().Set("Retry-After", retryAfter)
		s.writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": readyDraining})
		return
	}
	body := map[string]string{"status": readyReady}
	status := http.StatusOK
	for _, res := range s.runChecks(r, false) {
		switch {
		case res.err == nil:
			body[res.name] = healthConnected
		case errors.Is(res.err, kura.ErrBusy):
			body[res.name] = healthBusy
		default:
			body[res.name] = healthUnreachable
			body["status"], status = readyUnavailable, http.StatusServiceUnavailable
		}
	}
	if status != http.StatusOK {
		w.Header().Set("Retry-After", retryAfter)
	}
	s.writeJSON(w, r, status, body)
}
