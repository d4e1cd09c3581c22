package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/metrics"
	"github.com/kura-dev/kura/sqldb"
)

// okArgs is a job that succeeds; badArgs one that always fails.
type okArgs struct{}

func (okArgs) Kind() string { return "test.ok" }

type badArgs struct{}

func (badArgs) Kind() string { return "test.bad" }

// stack is kura's packages on a real SQLite database, with their metrics:
// a pool pair, a cache, a job client with workers and an HTTP server.
type stack struct {
	m     *metrics.Metrics
	db    *sqldb.DB
	cache *cache.Cache[string]
	jobs  *jobs.Client
	srv   *httpapi.Server
}

func newStack(t *testing.T) *stack {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	s := &stack{db: dbtest.Open(t, sqldb.SQLite)}
	m, err := metrics.New(metrics.Config{Engine: string(s.db.Dialect()), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s.m = m
	m.AddPools(s.db)

	if s.cache, err = cache.New[string](cache.Config{}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cache.Close)
	m.AddCache("user", s.cache)

	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[okArgs](func(context.Context, *jobs.Job[okArgs]) error { return nil }))
	jobs.AddWorker(ws, jobs.WorkerFunc[badArgs](func(context.Context, *jobs.Job[badArgs]) error { return errors.New("always") }))
	s.jobs, err = jobs.New(s.db, jobs.Config{Workers: ws, PruneInterval: -1, PollInterval: 50 * time.Millisecond,
		OnAttempt: m.ObserveJob, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.jobs.Stop(ctx)
	})
	m.AddJobs(s.jobs)
	m.AddBackups(func(ctx context.Context) (backup.Status, error) { return backup.ReadStatus(ctx, s.db) })

	s.srv = httpapi.NewServer(httpapi.Config{
		Users:     accounts.NewUserService(s.db),
		Sessions:  accounts.NewSessionService(s.db, time.Hour),
		OnRequest: m.ObserveRequest,
		Logger:    log,
	})
	m.AddServer(s.srv)
	m.AddReadOnly(s.srv.ReadOnly)
	return s
}

// traffic is the known work newStack's packages are put through: 3 reads
// of one cache key (a miss, a load, 2 local hits), a job that completes
// and one discarded after its one attempt, 3 GETs of /health, a request
// no route matches and one with a method outside HTTP's.
func (s *stack) traffic(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for range 3 {
		if _, err := s.cache.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "v", nil }); err != nil {
			t.Fatal(err)
		}
	}
	ok, err := s.jobs.Enqueue(ctx, okArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := s.jobs.Enqueue(ctx, badArgs{}, &jobs.EnqueueOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct {
		id    int64
		state jobs.State
	}{{ok.ID, jobs.StateCompleted}, {bad.ID, jobs.StateDiscarded}} {
		testenv.Wait(t, 0, "job to be "+string(j.state), func() bool {
			r, err := s.jobs.Get(ctx, j.id)
			return err == nil && r.State == j.state
		})
	}
	// A backup of 1234 bytes that took 2.5 s and was verified: the run log
	// every instance reads.
	ended := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	m := &backup.Manifest{Name: "kura-test", Started: ended.Add(-2500 * time.Millisecond), Ended: ended, Duration: 2.5, Size: 1234}
	if err := backup.Record(ctx, s.db, m.Started, m, nil); err != nil {
		t.Fatal(err)
	}
	if err := backup.RecordVerify(ctx, s.db, m.Name, &backup.Check{At: ended, OK: true}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		method, path string
		n            int
	}{{"GET", "/health", 3}, {"GET", "/nope", 1}, {"BREW", "/health", 1}} {
		for range r.n {
			s.srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
		}
	}
}

// scrape GETs h's metrics with the Accept header given ("" for none) and
// returns the body, failing unless it is a 200.
func scrape(t *testing.T, h http.Handler, accept string) (body, contentType string) {
	t.Helper()
	r := httptest.NewRequest("GET", metrics.Path, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", w.Code, w.Body)
	}
	return w.Body.String(), w.Header().Get("Content-Type")
}

// families parses a scrape in the text format.
func families(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// value returns the value of the sample of family name whose labels
// include labels (name="value" pairs), or fails: a counter's or gauge's
// value, a histogram's count.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s in the scrape", name)
	}
	for _, m := range f.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	var have []string
	for _, m := range f.Metric {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		have = append(have, strings.Join(ls, ","))
	}
	sort.Strings(have)
	t.Fatalf("no sample of %s with %v; have %v", name, labels, have)
	return 0
}

func hasLabels(m *dto.Metric, want []string) bool {
	for _, w := range want {
		found := false
		for _, l := range m.Label {
			if l.GetName()+"="+l.GetValue() == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// readAll reads and closes a response body.
func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
