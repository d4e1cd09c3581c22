package metrics_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/metrics"
)

var (
	seenRequest = httpapi.RequestInfo{Method: "GET", Route: "GET /api/users/{id}", Status: 200, Bytes: 312, Duration: 2 * time.Millisecond}
	seenAttempt = jobs.Attempt{Kind: "notify.deliver", Duration: 30 * time.Millisecond, Outcome: jobs.OutcomeCompleted}
)

// TestObserve_NoAllocations holds the hooks on the request and job paths
// to zero allocations once a label set has been seen.
func TestObserve_NoAllocations(t *testing.T) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveRequest(seenRequest)
	m.ObserveJob(seenAttempt)
	if n := testing.AllocsPerRun(1000, func() { m.ObserveRequest(seenRequest) }); n != 0 {
		t.Errorf("ObserveRequest allocates %v times per request, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { m.ObserveJob(seenAttempt) }); n != 0 {
		t.Errorf("ObserveJob allocates %v times per attempt, want 0", n)
	}
}

// TestObserve_RequestPathAllocations compares a whole request through
// httpapi's handler with and without the metrics hook: the hook adds no
// allocation.
func TestObserve_RequestPathAllocations(t *testing.T) {
	perRequest := func(onRequest func(httpapi.RequestInfo)) float64 {
		srv := httpapi.NewServer(httpapi.Config{Users: (*accounts.UserService)(nil), Sessions: (*accounts.SessionService)(nil),
			Logger: slog.New(slog.DiscardHandler), OnRequest: onRequest})
		h := srv.Handler()
		req := httptest.NewRequest("GET", "/health/live", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req) // the first request makes the label set
		return testing.AllocsPerRun(500, func() {
			w.Body.Reset()
			h.ServeHTTP(w, req)
		})
	}
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// A hook that does nothing turns on the same middleware path.
	without, with := perRequest(func(httpapi.RequestInfo) {}), perRequest(m.ObserveRequest)
	if with > without {
		t.Errorf("a request allocates %v times with the metrics hook, %v without", with, without)
	}
	t.Logf("allocations per request through httpapi: %v with the metrics hook, %v with an empty hook", with, without)
}

// BenchmarkObserveRequest measures the hook on the request path, from
// many goroutines at once as a busy server calls it.
func BenchmarkObserveRequest(b *testing.B) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		b.Fatal(err)
	}
	m.ObserveRequest(seenRequest)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest(seenRequest)
		}
	})
}

// BenchmarkObserveJob measures the hook of a finished job attempt.
func BenchmarkObserveJob(b *testing.B) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		b.Fatal(err)
	}
	m.ObserveJob(seenAttempt)
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveJob(seenAttempt)
	}
}
