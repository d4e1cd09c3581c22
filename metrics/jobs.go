package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura/jobs"
)

// jobBuckets are the buckets of an attempt's duration: from a quick
// delivery to KURA_JOB_TIMEOUT's default of a minute and beyond.
var jobBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// jobMetrics are the families of ObserveJob.
type jobMetrics struct {
	completed, failed, discarded, panicked *prometheus.CounterVec
	duration                               *prometheus.HistogramVec
	kinds                                  *children[string, *kindObservers]
}

// kindObservers are the pre-resolved children of one job kind, all made
// at its first attempt, so a kind's failures count from a series at 0.
type kindObservers struct {
	completed, failed, discarded, panicked prometheus.Counter
	duration                               prometheus.Observer
}

func newJobMetrics() *jobMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"kind"})
	}
	j := &jobMetrics{
		completed: counter("kura_jobs_completed_total", "Job attempts that succeeded, by kind."),
		failed:    counter("kura_jobs_failed_total", "Job attempts that failed (an error, a panic or the deadline), by kind; discarded ones included."),
		discarded: counter("kura_jobs_discarded_total", "Jobs that failed their last attempt and are kept as discarded, by kind."),
		panicked:  counter("kura_jobs_panicked_total", "Job attempts that panicked, by kind."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kura_jobs_attempt_duration_seconds",
			Help:    "Time one attempt of a job ran, whatever its outcome, by kind.",
			Buckets: jobBuckets,
		}, []string{"kind"}),
	}
	j.kinds = newChildren(func(kind string) *kindObservers {
		return &kindObservers{
			completed: j.completed.WithLabelValues(kind),
			failed:    j.failed.WithLabelValues(kind),
			discarded: j.discarded.WithLabelValues(kind),
			panicked:  j.panicked.WithLabelValues(kind),
			duration:  j.duration.WithLabelValues(kind),
		}
	})
	return j
}

func (j *jobMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{j.completed, j.failed, j.discarded, j.panicked, j.duration}
}

// ObserveJob counts a finished attempt: it is a jobs Config.OnAttempt
// hook. The counts follow jobs.Stats: a discarded attempt is also a
// failed one; a cancelled one is neither.
func (m *Metrics) ObserveJob(a jobs.Attempt) {
	o := m.jobs.kinds.get(a.Kind)
	o.duration.Observe(a.Duration.Seconds())
	switch a.Outcome {
	case jobs.OutcomeCompleted:
		o.completed.Inc()
	case jobs.OutcomeFailed:
		o.failed.Inc()
	case jobs.OutcomeDiscarded:
		o.failed.Inc()
		o.discarded.Inc()
	}
	if a.Panicked {
		o.panicked.Inc()
	}
}

// Queue is what AddJobs reads at scrape time: *jobs.Client has it.
type Queue interface {
	Counts(ctx context.Context) (jobs.Counts, error)
	OldestAvailable(ctx context.Context) (time.Time, error)
}

var _ Queue = (*jobs.Client)(nil)

// AddJobs exports the job queue's depth (jobs in each state) and the age
// of its oldest available job, queried at scrape time within
// Config.ScrapeTimeout. A query that fails leaves its figures out of that
// scrape and is logged. It panics if called twice.
func (m *Metrics) AddJobs(q Queue) {
	m.mustRegister(&queueCollector{q: q, timeout: m.cfg.ScrapeTimeout, now: time.Now})
}

var (
	jobsByState = prometheus.NewDesc("kura_jobs",
		"Jobs in each state; available, scheduled and retryable ones are the queue's depth.", []string{"state"}, nil)
	jobsOldest = prometheus.NewDesc("kura_jobs_oldest_available_age_seconds",
		"Age of the oldest job waiting to run now, from its scheduled time; 0 when none waits.", nil, nil)
)

type queueCollector struct {
	q       Queue
	timeout time.Duration
	now     func() time.Time
}

func (*queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsByState
	ch <- jobsOldest
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if counts, err := c.q.Counts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(jobsByState, err)
	} else {
		for _, s := range jobs.States {
			ch <- prometheus.MustNewConstMetric(jobsByState, prometheus.GaugeValue, float64(counts[s]), string(s))
		}
	}
	oldest, err := c.q.OldestAvailable(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsOldest, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(c.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(jobsOldest, prometheus.GaugeValue, age)
}
